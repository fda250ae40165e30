"""The completion sanitizer: what it keeps and drops, how fast, and how it compares with EvalPlus's own."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import random
import time
from dataclasses import dataclass, field

import pytest

from lightning_lora.benchmark.sanitize import _longest_parsing_span, sanitize

HAS_CLOSE = '''def has_close_elements(numbers, threshold):
    """Check if any two numbers are closer to each other than threshold."""
    for i, a in enumerate(numbers):
        for j, b in enumerate(numbers):
            if i != j and abs(a - b) < threshold:
                return True
    return False'''


def _top_level(code: str) -> list[str]:
    """The kinds of the top-level statements of ``code``, with their names where they have one."""
    kinds = []
    for node in ast.parse(code).body:
        targets = [element for target in getattr(node, "targets", [])
                   for element in (target.elts if isinstance(target, ast.Tuple) else [target])]
        name = getattr(node, "name", None) or ", ".join(target.id for target in targets)
        kinds.append(f"{type(node).__name__} {name}".strip())
    return kinds


# -- unit cases ---------------------------------------------------------------------------------------------------


def test_trailing_tests_prints_and_main_block_are_dropped():
    reply = HAS_CLOSE + '''


# Test cases
assert has_close_elements([1.0, 2.0, 3.0], 0.5) is False
print(has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3))

if __name__ == "__main__":
    import doctest
    doctest.testmod()
    print("All tests passed!")
'''
    assert sanitize(reply, "has_close_elements") == HAS_CLOSE


def test_helper_and_imports_are_kept_an_unreachable_helper_is_dropped():
    reply = '''import math
from typing import List


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, math.isqrt(n) + 1))


def _debug_dump(xs):
    return repr(xs)


def count_primes(numbers: List[int]) -> int:
    return sum(1 for n in numbers if _is_prime(n))


print(count_primes([2, 3, 4, 5]))
'''
    out = sanitize(reply, "count_primes")
    assert _top_level(out) == ["Import", "ImportFrom", "FunctionDef _is_prime", "FunctionDef count_primes"]
    assert "_debug_dump" not in out
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["count_primes"]([2, 3, 4, 5, 9, 11]) == 4


def test_helpers_are_reached_transitively_and_through_defaults_and_decorators():
    reply = '''def _a(x):
    return _b(x) + 1

def _b(x):
    return x * SCALE

SCALE = 3
LIMIT = 10

def check(x):
    return x

def wrap(fn):
    return fn

@wrap
def solve(x, cap=LIMIT):
    return min(_a(x), cap)

print(solve(2))
'''
    out = sanitize(reply, "solve")
    assert _top_level(out) == ["FunctionDef _a", "FunctionDef _b", "Assign SCALE", "Assign LIMIT", "FunctionDef wrap",
                               "FunctionDef solve"]
    assert "@wrap\ndef solve(x, cap=LIMIT):" in out


def test_complete_function_survives_a_repeated_docstring_cut_at_the_token_budget():
    reply = HAS_CLOSE + '''


def has_close_elements(numbers, threshold):
    """Check if any two numbers are closer to each other than
    threshold.
    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)
    False
    >>> has_close_elements([1.0, 2.8, 3.0'''
    assert sanitize(reply, "has_close_elements") == HAS_CLOSE


def test_docstring_only_stub_repeated_before_the_body_gives_way_to_the_function_that_returns():
    stub = '''def add(x: int, y: int) -> int:
    """Add two numbers x and y."""
'''
    body = '''def add(x: int, y: int) -> int:
    """Add two numbers x and y."""
    return x + y'''
    assert sanitize(stub + "\n\n" + body + "\n\nprint(add(2, 3))\n", "add") == body
    # The first of two complete definitions wins (the rule is "first with a return").
    assert sanitize(body + "\n\n" + body.replace("x + y", "y + x"), "add") == body


def test_function_without_return_is_kept_when_it_is_the_only_definition_of_its_name():
    reply = '''def _sort_in_place(values):
    values.sort()

def sorted_copy(values):
    result = list(values)
    _sort_in_place(result)
    return result

def _unused(values):
    values.reverse()
'''
    out = sanitize(reply, "sorted_copy")
    assert _top_level(out) == ["FunctionDef _sort_in_place", "FunctionDef sorted_copy"]
    generator = "def evens(xs):\n    for x in xs:\n        if x % 2 == 0:\n            yield x"
    assert sanitize(generator + "\n\nprint(list(evens(range(5))))", "evens") == generator


def test_a_function_with_return_wins_its_name_over_an_earlier_assignment():
    reply = "solve = None\n\ndef solve(x):\n    return x + 1\n"
    assert sanitize(reply, "solve") == "def solve(x):\n    return x + 1"


def test_class_and_constants_used_by_the_entry_point_are_kept():
    reply = '''from collections import deque

VOWELS = "aeiouAEIOU"
LOW, HIGH = 0, 100
UNUSED = 42


class Counter:
    def __init__(self):
        self.count = 0

    def add(self, ch):
        if ch in VOWELS:
            self.count += 1
        return self


def count_vowels(s):
    c = Counter()
    for ch in deque(s):
        c.add(ch)
    return max(LOW, min(c.count, HIGH))


s = input()
print(count_vowels(s))
'''
    out = sanitize(reply, "count_vowels")
    assert _top_level(out) == ["ImportFrom", "Assign VOWELS", "Assign LOW, HIGH", "ClassDef Counter",
                               "FunctionDef count_vowels"]
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["count_vowels"]("education") == 5


def test_a_parameter_named_like_an_example_variable_does_not_pull_the_example_in():
    reply = '''def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

n = int(input("n = "))
result = fib(n)
print(result)
'''
    assert sanitize(reply, "fib") == reply.split("\n\nn = ")[0]


def test_no_entry_point_keeps_every_definition():
    reply = '''import re

PATTERN = re.compile(r"\\d+")

def numbers(text):
    return [int(m) for m in PATTERN.findall(text)]

def unrelated():
    return 1

class Box:
    pass

print(numbers("a1b22"))
numbers("x")
'''
    expected = ["Import", "Assign PATTERN", "FunctionDef numbers", "FunctionDef unrelated", "ClassDef Box"]
    assert _top_level(sanitize(reply)) == expected
    assert _top_level(sanitize(reply, "")) == expected  # an empty entry point means none, as in EvalPlus


def test_imports_come_first_and_each_statement_keeps_its_exact_text():
    reply = ('def f(x):\r\n    return helper(x)  # café\r\n\r\nimport os; y = 2\r\n'
             'def helper(x):\r\n    return x * y\r\n')
    assert sanitize(reply, "f") == ("import os\ndef f(x):\r\n    return helper(x)  # café\ny = 2\n"
                                    "def helper(x):\r\n    return x * y")


def test_entry_point_missing_keeps_imports_and_nothing_kept_returns_the_longest_parsing_run():
    assert sanitize("import math\n\ndef other():\n    return 1\n", "wanted") == "import math"
    reply = "Here is how to call it:\nprint(wanted(3))\nresult = [x for x in range(3)]\nThat's all."
    assert sanitize(reply, "wanted") == "print(wanted(3))\nresult = [x for x in range(3)]"


@pytest.mark.parametrize("reply", [
    "I cannot help with that request.",
    "The answer is: return the sum of the list, then divide it.\nStep 2: profit!",
    "",
    "   \n\n",
])
def test_a_reply_with_no_parsing_line_comes_back_unchanged(reply):
    assert sanitize(reply, "f") == reply


def test_a_long_junk_tailed_reply_sanitizes_quickly():
    junk = []
    for i in range(150):
        junk += [f"print(has_close_elements([{i}.0, {i}.5], 0.3))", f"Example {i}: the output is {i % 2 == 0}!",
                 f"assert has_close_elements([{i}.0], 1.0) is False", ""]
    cut = '\ndef has_close_elements(numbers, threshold):\n    """Check if in given list of numbers, are any'
    reply = HAS_CLOSE + "\n\n" + "\n".join(junk) + cut
    assert len(reply.splitlines()) > 600
    started = time.perf_counter()
    out = sanitize(reply, "has_close_elements")
    elapsed = time.perf_counter() - started
    assert out == HAS_CLOSE
    assert elapsed < 2.0, f"sanitize took {elapsed:.2f} s on a {len(reply.splitlines())}-line reply"


@pytest.mark.parametrize("line", ["@decorator", "print(("])
def test_a_pathological_reply_gives_up_after_a_bounded_search(line):
    # Every run of these lines is cut short and none parses: the pruning has nothing to go on, and the search stops
    # on its parsing budget instead (found nothing, so the reply comes back unchanged).
    reply = "\n".join([line] * 600)
    started = time.perf_counter()
    assert sanitize(reply, "f") == reply
    assert time.perf_counter() - started < 5.0


def test_a_definition_keeps_its_closing_comments_as_tree_sitter_does():
    reply = "def f(x):\n    return x  # same\n    # after\n\n        # deeper\n  # shallower\nprint(f(1))\n"
    assert sanitize(reply, "f") == "def f(x):\n    return x  # same\n    # after\n\n        # deeper"


_PIECES = ["def f(x):", "    return x", '    """doc', "    more doc", '"""', "x = (1,", " 2)", "print(f(1))",
           "Here is the code:", "if __name__ == '__main__':", "    main()", "", "   ", "class A:", "    pass",
           "else:", "y = [", "]", "assert f(1) == 1", "    x = 1", "@dec", "import os", "This works.", "```",
           "x = 1 + \\", "  # comment", "name"]


def _exhaustive_longest_span(code: str) -> str | None:
    lines = code.split("\n")
    best, best_count = None, 0
    for i in range(len(lines)):
        for j in range(i, len(lines)):
            count = sum(1 for line in lines[i:j + 1] if line.strip())
            if count <= best_count:
                continue
            try:
                ast.parse("\n".join(lines[i:j + 1]))
            except SyntaxError:
                continue
            best, best_count = "\n".join(lines[i:j + 1]), count
    return best


def test_the_pruned_span_search_finds_what_trying_every_span_finds():
    rng = random.Random(20240611)
    for _ in range(400):
        code = "\n".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12)))
        expected = _exhaustive_longest_span(code)
        got = _longest_parsing_span(code)
        if expected is None:
            assert got is None, code
        else:
            assert got is not None and got.strip("\n ") == expected.strip("\n "), code


# -- a corpus of messy replies, run, and compared with EvalPlus's sanitizer ---------------------------------------


@dataclass
class Reply:
    name: str
    text: str
    entry_point: str
    call: tuple  # arguments for one call of the entry point
    answer: object  # what that call returns
    # Where the rules differ on purpose: statements only this sanitizer keeps, and text only EvalPlus's keeps.
    only_ours: list[str] = field(default_factory=list)
    only_evalplus: list[str] = field(default_factory=list)


CORPUS = [
    Reply("clean", HAS_CLOSE + "\n", "has_close_elements", ([1.0, 1.2], 0.5), True),
    Reply("prints", '''def truncate_number(number: float) -> float:
    return number % 1.0


print(truncate_number(3.5))
print(truncate_number(1.25))
''', "truncate_number", (3.5,), 0.5),
    Reply("main_block", '''from typing import List


def below_zero(operations: List[int]) -> bool:
    balance = 0
    for op in operations:
        balance += op
        if balance < 0:
            return True
    return False


if __name__ == "__main__":
    import doctest

    doctest.testmod()
    print(below_zero([1, 2, -4, 5]))
''', "below_zero", ([1, 2, -4, 5],), True),
    Reply("check_function", '''def incr_list(l: list):
    return [x + 1 for x in l]


def check(candidate):
    assert candidate([]) == []
    assert candidate([3, 2, 1]) == [4, 3, 2]


check(incr_list)
print("All tests passed.")
''', "incr_list", ([1, 2],), [2, 3]),
    Reply("prose_after", '''def strlen(string: str) -> int:
    """Return length of given string."""
    return len(string)

This function uses Python's built-in len() to count the characters.
It runs in O(1) time because strings store their length.
''', "strlen", ("abc",), 3),
    Reply("prose_before", '''Here is the completed function:

def flip_case(string: str) -> str:
    return "".join(c.lower() if c.isupper() else c.upper() for c in string)

Example: flip_case('Hello') returns 'hELLO'.
''', "flip_case", ("Hello",), "hELLO"),
    Reply("example_usage", '''def remove_vowels(text):
    return "".join(c for c in text if c.lower() not in "aeiou")

# Example usage:
result = remove_vowels("abcdef")
print(result)  # Output: bcdf
Output:
bcdf
''', "remove_vowels", ("abcdef",), "bcdf"),
    Reply("truncated_repeat", '''def add(x: int, y: int):
    return x + y


def add(x: int, y: int):
    """Add two numbers x and y
    >>> add(2, 3)
    5
    >>> add(5, 7)
    1''', "add", (2, 3), 5),
    Reply("stub_then_body", '''def same_chars(s0: str, s1: str):
    """
    Check if two words have the same characters.
    """


def same_chars(s0: str, s1: str):
    """
    Check if two words have the same characters.
    """
    return set(s0) == set(s1)


print(same_chars("abc", "cba"))
''', "same_chars", ("abc", "cba"), True),
    Reply("helper_chain", '''import math


def is_prime(n):
    if n < 2:
        return False
    for k in range(2, int(math.sqrt(n)) + 1):
        if n % k == 0:
            return False
    return True


def largest_prime_factor(n: int):
    return max(k for k in range(2, n + 1) if n % k == 0 and is_prime(k))


def unused_helper(x):
    return x * 2


for value in [13195, 2048]:
    print(largest_prime_factor(value))
''', "largest_prime_factor", (13195,), 29),
    Reply("constant", '''DIGITS = "0123456789ABCDEF"


def change_base(x: int, base: int):
    if x == 0:
        return "0"
    out = ""
    while x > 0:
        out = DIGITS[x % base] + out
        x //= base
    return out


assert change_base(8, 3) == "22"
''', "change_base", (8, 2), "1000"),
    Reply("class", '''class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        return self.items.pop()

    def empty(self):
        return not self.items


def correct_bracketing(brackets: str):
    stack = Stack()
    for b in brackets:
        if b == "<":
            stack.push(b)
        elif stack.empty():
            return False
        else:
            stack.pop()
    return stack.empty()


print(correct_bracketing("<<><>>"))
''', "correct_bracketing", ("<<><>>",), True),
    Reply("nested_function", '''def sort_even(l: list):
    def evens(xs):
        return sorted(xs[::2])

    out = list(l)
    out[::2] = evens(l)
    return out


# Test
print(sort_even([5, 6, 3, 4]))
''', "sort_even", ([5, 6, 3, 4],), [3, 6, 5, 4]),
    Reply("cut_in_tests", '''def monotonic(l: list):
    return l == sorted(l) or l == sorted(l, reverse=True)


print(monotonic([1, 2, 4, 20]))
print(monotonic([1, 20, 4, 10]))
print(monotonic([4, 1, 0, -10], ''', "monotonic", ([1, 2, 4, 20],), True),
    Reply("markdown_left", '''def common(l1: list, l2: list):
    return sorted(set(l1) & set(l2))
```

### Explanation
1. Convert both lists to sets.
2. Intersect them and sort the result.

```python
print(common([1, 4, 3], [3, 4]))
''', "common", ([1, 4, 3], [3, 4]), [3, 4]),
    Reply("main_function", '''def fizz_buzz(n: int):
    count = 0
    for i in range(n):
        if i % 11 == 0 or i % 13 == 0:
            count += str(i).count("7")
    return count


def main():
    n = int(input())
    print(fizz_buzz(n))


if __name__ == "__main__":
    main()
''', "fizz_buzz", (79,), 3),
    Reply("two_versions", '''def vowels_count(s):
    return sum(c in "aeiouAEIOU" for c in s) + (s[-1:] in "yY" and s != "")


# Alternative version:
def vowels_count(s):
    count = 0
    for c in s:
        if c in "aeiou":
            count += 1
    return count
''', "vowels_count", ("abcdeY",), 3),
    Reply("lambda_constant", '''from typing import List

by_length = lambda s: (len(s), s)


def sorted_list_sum(lst: List[str]) -> List[str]:
    return sorted((s for s in lst if len(s) % 2 == 0), key=by_length)

assert sorted_list_sum(["aa", "a", "aaa"]) == ["aa"]
''', "sorted_list_sum", (["ab", "a", "cd", "aaa"],), ["ab", "cd"]),
    Reply("test_loop", '''def is_palindrome(text: str):
    return text == text[::-1]


tests = ["", "aba", "zbcd"]
for t in tests:
    print(t, is_palindrome(t))
''', "is_palindrome", ("aba",), True),
    Reply("async_entry", '''import asyncio


async def add_async(a, b):
    await asyncio.sleep(0)
    return a + b


print(asyncio.run(add_async(1, 2)))
''', "add_async", (1, 2), 3),
    Reply("prompt_echoed", '''from typing import List


def separate_paren_groups(paren_string: str) -> List[str]:
    \"\"\" Separate balanced groups of parentheses, ignoring spaces.
    >>> separate_paren_groups('( ) (( )) (( )( ))')
    ['()', '(())', '(()())']
    \"\"\"
    groups, depth, current = [], 0, []
    for c in paren_string.replace(" ", ""):
        current.append(c)
        depth += 1 if c == "(" else -1
        if depth == 0:
            groups.append("".join(current))
            current = []
    return groups
\"\"\"

This solution tracks the nesting depth; a group ends when the depth returns to zero.
''', "separate_paren_groups", ("( ) (( )) (( )( ))",), ["()", "(())", "(()())"]),
    Reply("helper_after_entry", '''def encode_cyclic(s: str):
    return "".join(_rotate(g) for g in _groups(s))


def _groups(s):
    return [s[i:i + 3] for i in range(0, len(s), 3)]


def _rotate(g):
    return g[1:] + g[0] if len(g) == 3 else g


print(encode_cyclic("abcdef"))
''', "encode_cyclic", ("abcdefg",), "bcaefdg"),
    Reply("unused_class_and_imports", '''import random
import unittest
from typing import List


def filter_by_prefix(strings: List[str], prefix: str) -> List[str]:
    return [s for s in strings if s.startswith(prefix)]


class TestFilter(unittest.TestCase):
    def test_basic(self):
        self.assertEqual(filter_by_prefix(["abc", "bcd"], "a"), ["abc"])

    def test_random(self):
        words = [random.choice("ab") + "x" for _ in range(10)]
        self.assertTrue(all(w.startswith("a") for w in filter_by_prefix(words, "a")))


if __name__ == "__main__":
    unittest.main()
''', "filter_by_prefix", (["abc", "bcd", "axe"], "a"), ["abc", "axe"]),
    Reply("trailing_comment", '''def get_positive(l: list):
    return [x for x in l if x > 0]
    # negatives and zero are filtered out

print(get_positive([-1, 2, -4, 5, 6]))
''', "get_positive", ([-1, 2, 0, 5],), [2, 5]),
    # Intended differences ------------------------------------------------------------------------------------
    Reply("helper_without_return", '''def _pairs(numbers):
    for i in range(len(numbers)):
        for j in range(i + 1, len(numbers)):
            yield numbers[i], numbers[j]


def pairs_sum_to_zero(l):
    return any(a + b == 0 for a, b in _pairs(l))


print(pairs_sum_to_zero([2, 4, -5, 3, 5, 7]))
''', "pairs_sum_to_zero", ([2, 4, -5, 3, 5, 7],), True,
          only_ours=['def _pairs(numbers):\n    for i in range(len(numbers)):\n        for j in range(i + 1, len(numbers)):\n'
                     '            yield numbers[i], numbers[j]']),
    Reply("decorated_entry", '''from functools import lru_cache


@lru_cache(maxsize=None)
def fibfib(n: int):
    if n < 2:
        return 0
    if n == 2:
        return 1
    return fibfib(n - 1) + fibfib(n - 2) + fibfib(n - 3)


print(fibfib(8))
''', "fibfib", (8,), 24,
          only_ours=['@lru_cache(maxsize=None)\ndef fibfib(n: int):\n    if n < 2:\n        return 0\n    if n == 2:\n'
                     '        return 1\n    return fibfib(n - 1) + fibfib(n - 2) + fibfib(n - 3)']),
    Reply("tuple_constant", '''LOW, HIGH = 1, 100


def clamp_sum(values):
    return max(LOW, min(sum(values), HIGH))


print(clamp_sum([50, 70]))
''', "clamp_sum", ([50, 70],), 100, only_ours=["LOW, HIGH = 1, 100"]),
    Reply("parameter_named_like_example", '''def fib(n: int):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


n = int(input())
print(fib(n))
''', "fib", (10,), 55, only_evalplus=["n = int(input())"]),
    Reply("list_named_like_parameter", '''def median(l: list):
    import statistics
    return statistics.median(l)

l = [3, 1, 2, 4, 5]
print(median(l))
''', "median", ([3, 1, 2, 4, 5],), 3, only_evalplus=["l = [3, 1, 2, 4, 5]"]),
    Reply("type_alias", '''from typing import List, Union

Number = Union[int, float]


def rescale_to_unit(numbers: List[Number]) -> List[float]:
    lo, hi = min(numbers), max(numbers)
    return [(x - lo) / (hi - lo) for x in numbers]

numbers = [1.0, 2.0, 3.0]
print(rescale_to_unit(numbers))
''', "rescale_to_unit", ([1, 3, 5],), [0.0, 0.5, 1.0], only_evalplus=["numbers = [1.0, 2.0, 3.0]"]),
]


def _normal(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_corpus_reply_sanitizes_to_a_quiet_working_function(case):
    out = sanitize(case.text, case.entry_point)
    assert f"def {case.entry_point}(" in out
    printed = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(out, "<sanitized>", "exec"), namespace)  # the junk would print, read input() or fail
    assert printed.getvalue() == ""
    result = namespace[case.entry_point](*case.call)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    assert result == case.answer


def _evalplus_sanitize():
    """EvalPlus's own sanitizer, or a skip saying why it cannot be imported here."""
    try:
        from evalplus.sanitize import sanitize as evalplus_sanitize
    except ImportError as error:
        pytest.skip(f"EvalPlus's sanitizer is not importable ({error}); scripts/setup.sh installs evalplus==0.3.1, "
                    "tree-sitter and the few modules it imports, with --no-deps")
    return evalplus_sanitize


def _without(code: str, snippets: list[str]) -> str:
    for snippet in snippets:
        assert snippet in code, f"expected {snippet!r} in\n{code}"
        code = code.replace(snippet, "", 1)
    return _normal("\n".join(line for line in code.splitlines() if line.strip()))


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_corpus_reply_matches_evalplus_sanitizer_where_the_rules_agree(case):
    evalplus_sanitize = _evalplus_sanitize()
    ours = sanitize(case.text, case.entry_point)
    theirs = evalplus_sanitize(case.text, case.entry_point)
    if not case.only_ours and not case.only_evalplus:
        assert _normal(ours) == _normal(theirs)
        return
    assert _normal(ours) != _normal(theirs)
    for snippet in case.only_ours:
        assert snippet not in theirs
    for snippet in case.only_evalplus:
        assert snippet not in ours
    assert _without(ours, case.only_ours) == _without(theirs, case.only_evalplus)

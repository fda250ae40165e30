"""Decomposing check() into calls and comparisons, the plain-data codec, and judging a results channel."""

from __future__ import annotations

import json
import math
from collections import Counter, OrderedDict, namedtuple

import pytest

from lightning_lora.benchmark.checks import Check, Site, decompose, holds
from lightning_lora.benchmark.execution import Execution
from lightning_lora.benchmark.function_verdicts import Plan, judge
from lightning_lora.benchmark.plaindata import Opaque, decode, encode


@pytest.mark.parametrize("value", [None, True, False, 0, -7, 10**400, 1.5, -0.0, math.inf, "ünï\ud800", b"\x00\xff",
                                   2 + 3j, (1, [2, (3,)]), {1: "a", (2, 3): {4.5}}, frozenset({1, 2}), [], ()])
def test_codec_round_trip_keeps_types(value) -> None:
    back = decode(json.loads(json.dumps(encode(value))))
    assert back == value and type(back) is type(value)


def test_codec_keeps_nan_and_strips_subclasses_to_their_builtin_data() -> None:
    assert math.isnan(decode(encode(float("nan"))))

    class Liar(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    back = decode(encode(Liar(4)))
    assert type(back) is int and back == 4 and back != 5
    point = namedtuple("point", "x y")(1, 2)
    assert decode(encode(point)) == (1, 2) and type(decode(encode(point))) is tuple
    assert decode(encode(Counter("aab"))) == {"a": 2, "b": 1}
    assert type(decode(encode(OrderedDict(a=1)))) is dict
    opaque = decode(encode(x for x in ()))
    assert isinstance(opaque, Opaque) and opaque != opaque and opaque.type_name == "generator"


@pytest.mark.parametrize("data", [["i"], ["i", 3], ["zz", 1], ["S", [["l", []]]], ["d", [[["N"]]]], "x", []])
def test_codec_refuses_what_it_never_writes(data) -> None:
    with pytest.raises(ValueError):
        decode(data)


CHECK = "def check(candidate):\n    import math\n{}\n"


@pytest.mark.parametrize(
    "assertion, site, expected, params",
    [
        ("assert candidate(1) == 2", Site("=="), 2, {}),
        ("assert 2 == candidate(1)", Site("=="), 2, {}),
        ("assert candidate(1) != 2", Site("!="), 2, {}),
        ("assert 3 < candidate(1)", Site(">"), 3, {}),
        ("assert candidate(1) is True", Site("is", const="True"), None, {}),
        ("assert candidate(1) is not None", Site("is not", const="None"), None, {}),
        ("assert not candidate(1)", Site("not"), None, {}),
        ("assert candidate(1)", Site("truth"), None, {}),
        ("assert sorted(candidate(1)) == [1, 2]", Site("==", "sorted"), [1, 2], {}),
        ("assert abs(candidate(1) - 0.5) < 1e-6", Site("abs<"), 0.5, {"tol": 1e-6}),
        ("assert abs(0.5 - candidate(1)) <= 1e-6", Site("abs<=", swapped=True), 0.5, {"tol": 1e-6}),
        ("assert 1e-6 > math.fabs(candidate(1) - 0.5)", Site("fabs<"), 0.5, {"tol": 1e-6}),
        ("assert math.isclose(candidate(1), 0.5, rel_tol=1e-3)", Site("isclose"), 0.5, {"rel_tol": 1e-3}),
    ],
)
def test_literal_asserts_decompose_without_running(assertion, site, expected, params) -> None:
    d = decompose(CHECK.format("    " + assertion), "f")
    assert d.reason is None and d.sites == [site]
    assert d.checks == [Check(0, (1,), {}, expected, params)]


@pytest.mark.parametrize(
    "body, reason",
    [
        ("    s = candidate(1)\n    assert s == 2", "outside a comparable assert"),
        ("    assert candidate(candidate(1)) == 2", "outside a comparable assert"),
        ("    assert candidate(1) == 2 and candidate(2) == 3", "outside a comparable assert"),
        ("    assert f(1) == 2\n    assert candidate(1) == 2", "calls f by name"),
        ("    pass", "no assert compares"),
    ],
)
def test_checks_that_cannot_be_split_say_why(body, reason) -> None:
    assert reason in (decompose(CHECK.format(body), "f").reason or "")


def test_computed_asserts_are_rewritten_for_a_reference_run() -> None:
    d = decompose(CHECK.format("    for i in range(3):\n        assert candidate(i, k=i) == i * 2, 'msg'"), "f")
    assert d.checks is None and d.reason is None
    assert "_ll_site(0, lambda: (i,), lambda: {'k': i}, lambda: i * 2, {})" in (d.rewritten_test or "")


def test_holds_mirrors_python_on_plain_data_and_fails_on_errors() -> None:
    assert holds(Site("=="), True, 1, {})  # True == 1 in Python, so in check() too
    assert not holds(Site("=="), (1, 2), [1, 2], {})  # a tuple is not a list
    assert not holds(Site("abs<"), "x", 0.5, {"tol": 1})  # TypeError: the assert would have raised
    assert not holds(Site("=="), Opaque("T"), Opaque("T"), {})
    assert not holds(Site("truth"), Opaque("T"), None, {})
    assert not holds(Site("abs<"), float("nan"), 0.5, {"tol": 1.0})


def _run(stdout: str, returncode: int = 0, timed_out: bool = False) -> Execution:
    return Execution(returncode, stdout, "", 0.1, timed_out, False, False)


PLAN = Plan([Site("==")], [Check(0, (1,), {}, 2), Check(0, (2,), {}, 3)])


@pytest.mark.parametrize(
    "stdout, returncode, timed_out, status",
    [
        ('[0, "ok", ["i", "2"]]\n[1, "ok", ["i", "3"]]\n["end"]\n', 0, False, "passed"),
        ('[0, "ok", ["i", "2"]]\n[1, "ok", ["i", "4"]]\n["end"]\n', 0, False, "wrong_answer"),
        ('[0, "ok", ["i", "5"]]\n', 0, True, "wrong_answer"),  # a wrong result decides before the timeout
        ('[0, "ok", ["i", "2"]]\n', 0, True, "timeout"),
        ('[0, "ok", ["i", "2"]]\n', 0, False, "runtime_error"),  # exited before the last call returned
        ('[0, "ok", ["i", "2"]]\n[1, "raise", "ValueError: x"]\n', 0, False, "runtime_error"),
        ('["load", "NameError: y"]\n', 0, False, "runtime_error"),
        ('[0, "ok", ["i", "2"]]\n[1, "ok", ["i", "3"]]\n["end"]\n["end"]\n', 0, False, "forged"),
        ('["end"]\n', 0, False, "forged"),
        ('[1, "ok", ["i", "3"]]\n[0, "ok", ["i", "2"]]\n["end"]\n', 0, False, "forged"),
        ('[0, "ok", ["i", "2"]]\nhello\n["end"]\n', 0, False, "forged"),
        ('[0, "ok", ["?", 3]]\n', 0, False, "forged"),
        ('[0, "ok", ["i", "2"]]\n[1, "ok", ["i", "3"]]\n["en', 1, False, "passed"),  # cut mid-line after the results
        ('[0, "ok", ["s", "xxxxxxx', 1, False, "runtime_error"),  # cut mid-line (output limit): not a forged record
    ],
)
def test_judge_reads_only_what_the_harness_writes(stdout, returncode, timed_out, status) -> None:
    assert judge(PLAN, _run(stdout, returncode, timed_out))[0] == status

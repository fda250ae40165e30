"""What a finished run means: the status of how it ended, and whether its stdout matches the expected output.

The rules a verdict is decided by, outside the sandbox and without running anything: LiveCodeBench's
stdout comparison, a compile-only syntax check, and the failure status (timeout, memory, runtime error...)
of an :class:`~lightning_lora.benchmark.execution.Execution`.
"""

from __future__ import annotations

import signal
from decimal import Decimal, InvalidOperation

from lightning_lora.benchmark.execution import Execution, Status


def output_lines(text: str) -> list[str]:
    """The text without surrounding whitespace, split at newlines, each line stripped (inner blank lines kept)."""
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def outputs_match(got: str, expected: str) -> bool:
    """LiveCodeBench's stdin/stdout rule: as many :func:`output_lines`, and each pair equal, or else both
    whitespace-separated tokens that all parse as ``Decimal`` and are equal as numbers (``1.5`` = ``1.500000``)."""
    got_lines, expected_lines = output_lines(got), output_lines(expected)
    if len(got_lines) != len(expected_lines):
        return False
    for a, b in zip(got_lines, expected_lines):
        if a == b:
            continue
        da, db = _decimals(a), _decimals(b)
        try:
            if da is None or db is None or da != db:
                return False
        except InvalidOperation:  # a signalling NaN compared
            return False
    return True


def syntax_problem(code: str) -> str | None:
    """Compile (never run) ``code`` in this process; the error message if it does not compile."""
    try:
        compile(code, "main.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as e:
        return f"{type(e).__name__}: {e}"
    return None


def failure_status(ex: Execution) -> tuple[Status, str]:
    """Status of a run that did not end cleanly, or ("passed", "") when it exited 0."""
    tail = ex.stderr_tail
    if ex.oom_killed:  # before timeout: a program whose worker was OOM-killed often hangs afterwards
        return "memory", "memory cgroup limit (a process was OOM-killed)"
    if ex.timed_out or ex.cpu_limit or ex.returncode == -signal.SIGXCPU:
        return "timeout", "wall-clock timeout" if ex.timed_out else "CPU-time limit"
    if "MemoryError" in tail:
        return "memory", "address-space limit (MemoryError)"
    if ex.output_limit:
        return "wrong_answer", "output limit exceeded"
    if ex.returncode != 0:
        if ex.returncode is not None and ex.returncode < 0:
            return "runtime_error", f"killed by signal {signal.Signals(-ex.returncode).name}"
        return "runtime_error", f"exit code {ex.returncode}"
    return "passed", ""

"""Verdicts for function problems (HumanEval) decided in the trusted process, from plain data.

1. :func:`plan_for` decomposes the problem's ``check`` (:mod:`~lightning_lora.benchmark.checks`) into
   calls and comparisons; where the test computes its arguments or expected values, a reference run
   (prompt + canonical solution + test, in its own sandbox, no candidate) records them, and every
   comparison is confirmed on the canonical solution's own results. Plans are cached per problem.
2. :func:`run_function_problem` runs the candidate (prompt + completion + :mod:`candidate_driver`) on the
   arguments only; its results come back as tagged JSON on a channel apart from its prints.
3. :func:`judge` decodes them (builtin types only) and compares them here, in order, so the first
   failing comparison decides, as the first failing assert does in ``check``.

A problem whose ``check`` cannot be decomposed (or whose reference run fails) falls back to running
``check`` inside the candidate's sandbox; those verdicts are marked ``forgeable`` (the reason is the plan's
``fallback``), and scoring reports their passes beside pass@k as unverified, never in it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightning_lora.benchmark.checks import Check, Site, decompose, holds
from lightning_lora.benchmark.execution import Execution, SandboxConfig, Status
from lightning_lora.benchmark.outcomes import failure_status, syntax_problem
from lightning_lora.benchmark.plaindata import Opaque, decode, encode
from lightning_lora.benchmark.sandbox import run_function_test, run_program
from lightning_lora.problems.sources import Problem

TRUSTED = "trusted"
FORGEABLE = "forgeable"
_HERE = Path(__file__).resolve().parent
_IMPORT_LINE = "from lightning_lora.benchmark.plaindata import decode, encode, to_json"


@dataclass
class Plan:
    """How one problem is judged: sites + checks (trusted), or the reason it falls back (forgeable)."""

    sites: list[Site] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    fallback: str | None = None

    @property
    def basis(self) -> str:
        return FORGEABLE if self.fallback else TRUSTED


def _sandbox_library() -> str:
    """plaindata + candidate_driver as one module's source, for the sandbox."""
    plain = (_HERE / "plaindata.py").read_text(encoding="utf-8")
    driver = (_HERE / "candidate_driver.py").read_text(encoding="utf-8")
    assert _IMPORT_LINE in driver
    return plain + "\n\n" + driver.replace(_IMPORT_LINE, "", 1)


_LIBRARY: str | None = None


def _library() -> str:
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = _sandbox_library()
    return _LIBRARY


def candidate_program(prompt: str, completion: str, entry_point: str, checks: list[Check]) -> str:
    """The sandbox program for a candidate: its arguments, no test code, expected value or canonical solution."""
    calls = [[encode(c.args), encode(c.kwargs)] for c in checks]
    return _library() + f"\ncandidate_main({prompt + completion!r}, {entry_point!r}, {calls!r})\n"


def _lines(stdout: str) -> list[Any] | None:
    """Complete JSON lines of the results channel (a final unterminated line is dropped); None if any is not JSON."""
    body = stdout[: stdout.rfind("\n") + 1]
    try:
        return [json.loads(line) for line in body.splitlines() if line]
    except (json.JSONDecodeError, RecursionError):
        return None


# ---------------------------------------------------------------------------------------- plans


def _reference_plan(problem: Problem, sites: list[Site], rewritten: str, cfg: SandboxConfig) -> Plan:
    solution = problem.metadata.get("canonical_solution")
    source = problem.prompt + (solution or "") + "\n" + rewritten
    code = _library() + f"\nreference_main({source!r}, {problem.entry_point!r}, {solution is not None!r})\n"
    ref_cfg = SandboxConfig(**{**cfg.__dict__, "timeout_s": max(cfg.timeout_s, 20.0)})
    ex = run_program(code, "", ref_cfg)
    lines = _lines(ex.stdout)
    if not lines or lines[-1] != ["end"]:
        last = (ex.stderr_tail.strip().splitlines() or [failure_status(ex)[1] or "no result"])[-1]
        return Plan(fallback=f"the reference run failed ({last})")
    checks = []
    try:
        for n, (k, args, kwargs, got, expected, params) in enumerate(lines[:-1]):
            check = Check(k, decode(args), decode(kwargs), None if expected is None else decode(expected),
                          {name: decode(v) for name, v in params.items()})
            if solution is not None and not holds(sites[k], decode(got), check.expected, check.params):
                return Plan(fallback=f"the canonical solution fails decomposed check {n} (the split is unsound here)")
            checks.append(check)
    except (ValueError, TypeError, IndexError) as e:
        return Plan(fallback=f"the reference run wrote a malformed record ({e})")
    if not checks:
        return Plan(fallback="the reference run made no comparison")
    return Plan(sites, checks)


_PLANS: dict[str, Plan] = {}
_PLAN_LOCKS: dict[str, threading.Lock] = {}
_LOCK = threading.Lock()


def plan_for(problem: Problem, cfg: SandboxConfig) -> Plan:
    """The problem's plan, made once per process (a reference run costs one sandboxed program)."""
    key = hashlib.sha256(json.dumps([problem.prompt, problem.test, problem.entry_point,
                                     problem.metadata.get("canonical_solution")]).encode()).hexdigest()
    with _LOCK:
        lock = _PLAN_LOCKS.setdefault(key, threading.Lock())
    with lock:
        if key not in _PLANS:
            d = decompose(problem.test or "", problem.entry_point or "")
            if d.reason:
                plan = Plan(fallback=d.reason)
            elif d.checks is not None:
                plan = Plan(d.sites, d.checks)
            else:
                plan = _reference_plan(problem, d.sites, d.rewritten_test or "", cfg)
            _PLANS[key] = plan
        return _PLANS[key]


# ---------------------------------------------------------------------------------------- verdicts


def _describe(value: Any) -> str:
    if isinstance(value, Opaque):
        return f"a {value.type_name} (only builtin data is compared)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def judge(plan: Plan, ex: Execution) -> tuple[Status, str]:
    """Status of a candidate run from its results channel, compared with ``plan`` here."""
    lines = _lines(ex.stdout)
    n = len(plan.checks)
    if lines is None:
        return "forged", "the results channel holds lines the harness did not write"
    results: dict[int, Any] = {}
    ending: tuple[str, Any] | None = None  # ("raise", i) / ("load", msg) / ("end", None)
    for pos, line in enumerate(lines):
        if ending is not None:
            return "forged", "the results channel holds lines after the harness's last one"
        if line == ["end"] and len(results) == n:
            ending = ("end", None)
        elif isinstance(line, list) and len(line) == 2 and line[0] == "load" and pos == 0:
            ending = ("load", line[1])
        elif isinstance(line, list) and len(line) == 3 and line[0] == pos and line[1] in ("ok", "raise") and pos < n:
            if line[1] == "raise":
                ending = ("raise", line[2])
            else:
                try:
                    results[pos] = decode(line[2])
                except (ValueError, RecursionError):
                    return "forged", f"result {pos} is not a value the harness encodes"
        else:
            return "forged", "the results channel holds a record the harness does not write"
    for i, check in enumerate(plan.checks):
        if i not in results:
            if ending and ending[0] == "raise":
                return "runtime_error", f"call {i} of {n} raised {str(ending[1])[:200]}"
            if ending and ending[0] == "load":
                return "runtime_error", f"loading the completion raised {str(ending[1])[:200]}"
            status, detail = failure_status(ex)
            if status == "passed":
                return "runtime_error", f"the program exited before call {i} of {n} returned"
            return status, f"{detail} (at call {i} of {n})"
        site = plan.sites[check.site]
        if not holds(site, results[i], check.expected, check.params):
            return "wrong_answer", f"check {i} of {n} failed ({site.op}): got {_describe(results[i])}"
    return "passed", ""


def run_function_problem(problem: Problem, completion: str, cfg: SandboxConfig) -> tuple[Execution, str]:
    """Run ``completion`` on a function problem; returns the execution (with status) and the verdict's basis."""
    if not completion.strip():
        return Execution(None, "", "", 0.0, False, False, False, "no_code", "empty completion"), TRUSTED
    prompt, entry = problem.prompt, problem.entry_point or ""
    plan = plan_for(problem, cfg)
    if plan.fallback:
        return run_function_test(prompt, completion, problem.test or "", entry, cfg), FORGEABLE
    problem_text = syntax_problem(prompt + completion)
    if problem_text:
        return Execution(None, "", problem_text[-500:], 0.0, False, False, False, "syntax_error", problem_text), TRUSTED
    ex = run_program(candidate_program(prompt, completion, entry, plan.checks), "", cfg)
    ex.status, ex.detail = judge(plan, ex)
    ex.stdout = ""  # the results channel, not the program's output
    return ex, TRUSTED

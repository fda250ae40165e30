"""Score samples against problems in the sandbox: per-sample verdicts, per-problem counts, pass@k."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from lightning_lora.benchmark.execution import STATUSES, SandboxConfig
from lightning_lora.benchmark.extract import extract_code, function_continuation
from lightning_lora.benchmark.function_verdicts import FORGEABLE, TRUSTED, plan_for, run_function_problem
from lightning_lora.benchmark.passk import aggregate_pass_at_k
from lightning_lora.benchmark.sandbox import isolation_level, run_stdio_test, unverified_reason
from lightning_lora.files import atomic_write_json
from lightning_lora.problems.sources import Problem, ProblemSet, read_jsonl

SEED_CONVENTION_NOTE = (
    "The seed study's denominator: problems whose every sample had no code (or that have no sample) are "
    "left out. Test mode as in summary.test_mode (the seed used public tests only: test_mode='public')."
)


VERDICT_NOTE = (
    "stdin problems: the program's output is compared here with the expected output, which never enters the "
    "sandbox. Function problems: the candidate runs on the test's arguments alone and its results (plain "
    "builtin data) are compared here. A verdict is 'forgeable' where a hostile program could have faked a pass: "
    "check() could not be decomposed and ran beside the candidate, or the sandbox had no mount and network "
    "namespace, so the tests were within its reach (each sample's verdict_reason says which). A forgeable pass "
    "is not counted in pass@k or problems_passed: see passed_unverified and pass@k_including_unverified."
)


def default_workers() -> int:
    """Parallel programs: one per core, at most 4 (each run is a whole interpreter)."""
    return max(1, min(4, os.cpu_count() or 1))


def read_samples(path: str | Path) -> list[dict[str, Any]]:
    """Read a samples jsonl (``{"task_id": str, "completion": str}`` per line) with one clear error per bad line."""
    path = Path(path)
    samples = []
    for lineno, obj in read_jsonl(path, "Samples file"):
        if not isinstance(obj.get("task_id"), str):
            raise ValueError(f"{path} line {lineno}: field 'task_id' is missing or not a string.")
        if not isinstance(obj.get("completion"), str):
            raise ValueError(f"{path} line {lineno}: field 'completion' is missing or not a string.")
        samples.append(obj)
    if not samples:
        raise ValueError(f"Samples file {path} holds no samples.")
    return samples


def _score_sample(problem: Problem, completion: str, extract: bool, cfg: SandboxConfig,
                  unverified: str | None = None) -> dict[str, Any]:
    """Run one sample, with its verdict's basis: ``trusted``, or ``forgeable`` with the reason (``unverified``:
    why the sandbox itself leaves every verdict forgeable, from :func:`~lightning_lora.benchmark.sandbox.unverified_reason`)."""
    record = _run_sample(problem, completion, extract, cfg)
    if record["verdict"] == TRUSTED and unverified:
        record["verdict"], record["verdict_reason"] = FORGEABLE, unverified
    return record


def _run_sample(problem: Problem, completion: str, extract: bool, cfg: SandboxConfig) -> dict[str, Any]:
    """Run one sample on its problem's tests, stopping at the first failure."""
    if problem.kind == "function":
        if extract:  # a chat reply's fenced code; a plain continuation stays as it is
            completion = function_continuation(problem.prompt, problem.entry_point, completion)
        ex, basis = run_function_problem(problem, completion, cfg)
        failing = None if ex.status == "passed" else 0
        record = {"status": ex.status, "first_failing_test": failing, "detail": ex.detail, "verdict": basis,
                  "stderr_tail": ex.stderr_tail, "wall_time_s": round(ex.wall_time_s, 4)}
        if basis == FORGEABLE:
            record["verdict_reason"] = (f"check() ran beside the candidate: "
                                        f"{plan_for(problem, cfg).fallback or 'it could not be decomposed'}")
        return record
    code = extract_code(completion) if extract else (completion if completion.strip() else None)
    if code is None:
        return {"status": "no_code", "first_failing_test": None, "detail": "no code in the completion",
                "stderr_tail": "", "wall_time_s": 0.0, "verdict": TRUSTED}
    wall = 0.0
    for i, test in enumerate(problem.tests):
        ex = run_stdio_test(code, test, cfg)
        wall += ex.wall_time_s
        if ex.status != "passed":
            return {"status": ex.status, "first_failing_test": i, "detail": ex.detail,
                    "stderr_tail": ex.stderr_tail, "wall_time_s": round(wall, 4), "verdict": TRUSTED}
    return {"status": "passed", "first_failing_test": None, "detail": "", "stderr_tail": "",
            "wall_time_s": round(wall, 4), "verdict": TRUSTED}


def verified_pass(record: dict[str, Any]) -> bool:
    """A pass that counts: passed, and on a verdict the program could not have forged."""
    return record["status"] == "passed" and record.get("verdict", TRUSTED) != FORGEABLE


def _verdict_basis(problems: Sequence[Problem], records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the verdicts rest on; forgeable ones (check() run beside the candidate) are counted."""
    forgeable = [r for r in records if r.get("verdict") == FORGEABLE]
    return {
        "forgeable_samples": len(forgeable),
        "forgeable_problems": len({r["task_id"] for r in forgeable}),
        "passed_unverified": sum(r["status"] == "passed" for r in forgeable),
        "reasons": dict(Counter(r.get("verdict_reason", "") for r in forgeable)),
        "note": VERDICT_NOTE,
    }


TRUNCATION_NOTE = ("Samples whose reply the token budget cut (no stop string, no end-of-turn token), by the status "
                   "they scored; None: the samples do not say (written before this was recorded).")


def _truncation(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """How many replies the budget cut and what they scored (None when the samples carry no ``truncated``)."""
    known = [r for r in records if "truncated" in r]
    if not known:
        return None
    cut = [r for r in known if r["truncated"]]
    return {"samples": len(cut), "by_status": dict(Counter(r["status"] for r in cut)),
            "samples_known": len(known), "note": TRUNCATION_NOTE}


def evaluate(
    problems: ProblemSet | Sequence[Problem],
    samples: Sequence[dict[str, Any]],
    *,
    k: Sequence[int] = (1,),
    timeout_s: float = 10.0,
    memory_mb: int = 1024,
    workers: int | None = None,
    extract: bool = True,
    sandbox: SandboxConfig | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Score ``samples`` (``{"task_id", "completion"}`` dicts, several per task allowed) on ``problems``.

    Args:
        k: pass@k values to report; a k above some problem's sample count is reported as None.
        timeout_s: wall-clock limit per program run (ignored when ``sandbox`` is given).
        memory_mb: memory limit per program run (ignored when ``sandbox`` is given).
        workers: programs run in parallel (default: :func:`default_workers`).
        extract: stdin problems: take the code out of the reply with ``extract_code``; function problems: the
            fenced code of a chat reply (``function_continuation``). False: run completions as they are.
        sandbox: full sandbox settings, overriding ``timeout_s`` / ``memory_mb``.
        progress: show a passed/total bar on stderr.

    A sample passes only if every test passes. Problems without samples count as failures; the
    seed study's convention (generation failures excluded) is reported beside, labelled.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}.")
    if not k or any(int(x) < 1 for x in k):
        raise ValueError(f"k must list values of at least 1, got {list(k)}.")
    cfg = sandbox or SandboxConfig(timeout_s=timeout_s, memory_mb=memory_mb)
    unverified = unverified_reason(cfg)
    problem_list = list(problems)
    by_id = {p.task_id: p for p in problem_list}
    if len(by_id) != len(problem_list):
        raise ValueError("Problem task_ids must be unique.")
    if not samples:
        raise ValueError("No samples to score (a pass@k over no sample would read as 0).")
    per_task: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        if s.get("task_id") not in by_id:
            raise ValueError(f"Sample {i + 1} names task_id {s.get('task_id')!r}, which is not in the problem set.")
        if not isinstance(s.get("completion"), str):
            raise ValueError(f"Sample {i + 1} ({s['task_id']}) has no string 'completion'.")
        per_task[s["task_id"]].append(i)

    records: list[dict[str, Any] | None] = [None] * len(samples)
    start = time.monotonic()
    passed = 0
    bar = tqdm(total=len(samples), desc="benchmark", unit="sample", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        futures = {pool.submit(_score_sample, by_id[s["task_id"]], s["completion"], extract, cfg, unverified): i
                   for i, s in enumerate(samples)}
        for fut in as_completed(futures):
            i = futures[fut]
            task_id = samples[i]["task_id"]
            records[i] = {"task_id": task_id, "sample_index": per_task[task_id].index(i), **fut.result()}
            if isinstance(samples[i].get("truncated"), bool):  # samples written before truncation was recorded lack it
                records[i]["truncated"] = samples[i]["truncated"]
            passed += verified_pass(records[i])
            bar.set_postfix_str(f"passed {passed}/{bar.n + 1}", refresh=False)
            bar.update()
    bar.close()
    sample_records = [r for r in records if r is not None]

    problem_records = []
    for p in problem_list:
        recs = [records[i] for i in per_task.get(p.task_id, [])]
        n, c = len(recs), sum(verified_pass(r) for r in recs)
        u = sum(r["status"] == "passed" for r in recs) - c
        status = "passed" if c else "passed_unverified" if u else (recs[0]["status"] if recs else "no_sample")
        problem_records.append({"task_id": p.task_id, "passed": c > 0, "n": n, "c": c, "passed_unverified": u,
                                "status": status})

    counts = [(r["n"], r["c"]) for r in problem_records]
    kept = [
        (r["n"], r["c"]) for r in problem_records
        if r["n"] and any(records[i]["status"] != "no_code" for i in per_task[r["task_id"]])
    ]
    by_status = Counter("passed_unverified" if r["status"] == "passed" and not verified_pass(r) else r["status"]
                        for r in sample_records)
    ps = problems if isinstance(problems, ProblemSet) else None
    summary = {
        "pass@k": aggregate_pass_at_k(counts, k),
        "num_problems": len(problem_list),
        "num_samples": len(samples),
        "problems_passed": sum(r["passed"] for r in problem_records),
        "problems_passed_unverified": sum(not r["passed"] and r["passed_unverified"] > 0 for r in problem_records),
        "pass@k_including_unverified": aggregate_pass_at_k(
            [(r["n"], r["c"] + r["passed_unverified"]) for r in problem_records], k),
        "problems_without_samples": sum(r["n"] == 0 for r in problem_records),
        "counts_by_status": {s: by_status.get(s, 0) for s in ("passed", "passed_unverified", *STATUSES[1:])},
        "truncated": _truncation(sample_records),
        "verdicts": _verdict_basis(problem_list, sample_records),
        "problem_set": ps.name if ps else "custom",
        "test_mode": ps.test_mode if ps else "all",
        "filters": ps.filters if ps else {},
        "skipped_when_loading": ps.skipped if ps else {},
        "isolation": isolation_level(cfg),
        "sandbox": {"timeout_s": cfg.timeout_s, "memory_mb": cfg.memory_mb, "output_limit_mb": cfg.output_limit_mb,
                    "max_pids": cfg.max_pids},
        "pass@k_note": "Mean over all problems; a problem without samples counts as a failure. None: some "
                       "problem has fewer samples than k. Only verified passes count: a pass on a forgeable verdict "
                       "is in passed_unverified and pass@k_including_unverified (see verdicts).",
        "seed_convention": {
            "pass@k": aggregate_pass_at_k(kept, k),
            "num_problems": len(kept),
            "note": SEED_CONVENTION_NOTE,
        },
        "wall_time_s": round(time.monotonic() - start, 3),
    }
    return {"summary": summary, "problems": problem_records, "samples": sample_records}


def write_results(path: str | Path, results: dict[str, Any]) -> Path:
    """Write ``results`` as indented JSON (atomically), creating the parent directory."""
    return atomic_write_json(Path(path), results)

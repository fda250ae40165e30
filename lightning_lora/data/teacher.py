"""Teacher data by rejection sampling: a teacher model answers each training problem several times at a
temperature, every answer's program runs in the sandbox on all the problem's tests, and only programs that pass
them all are kept, each with where it came from.

Work goes in chunks of problems; after each chunk its kept rows are appended to the output and its per-problem
record (samples drawn, passed, the statuses of the others) to ``<output stem>.problems.jsonl``. A run that is
stopped and started again skips the problems already recorded (and drops kept rows of a chunk whose record was
never written), so hours of sampling on a CPU survive an interruption.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from lightning_lora.benchmark.extract import extract_code
from lightning_lora.benchmark.runner import _prompt_builder, generate_samples
from lightning_lora.benchmark.scoring import evaluate, verified_pass
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.problems.sources import Problem

#: The system prompt the teacher answers under (the study configs benchmark with the same one). Code alone: the
#: student trains on the program, and a reply without prose takes a third of the tokens to sample.
TEACHER_SYSTEM_PROMPT = ("You are an expert Python programmer. Answer with one Python code block that reads "
                         "standard input and prints the answer, and nothing else.")


@dataclass(frozen=True)
class SamplingSettings:
    """How the teacher samples: ``n`` answers per problem at ``temperature``/``top_p``, up to ``max_new_tokens``
    each, ``problems_per_chunk`` problems generated together (and recorded together), programs judged with
    ``timeout_s`` per test."""

    n: int = 8
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 512
    batch_size: int = 32
    seed: int = 0
    engine: str = "refill"
    problems_per_chunk: int = 4
    timeout_s: float = 10.0
    system_prompt: str = TEACHER_SYSTEM_PROMPT

    def check(self) -> None:
        """One clear error for a setting out of range."""
        for name in ("n", "max_new_tokens", "batch_size", "problems_per_chunk"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be at least 1, got {getattr(self, name)}")
        if self.temperature <= 0:
            raise ValueError(f"--temperature must be above 0 (rejection sampling draws several different answers), "
                             f"got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"--top_p must be in (0, 1], got {self.top_p}")


def chunk_seed(seed: int, task_ids: Sequence[str]) -> int:
    """The sampling seed of one chunk: from the run's seed and the chunk's problems, so a resumed run draws what
    an uninterrupted one would."""
    digest = hashlib.sha256(json.dumps([seed, list(task_ids)]).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def problems_path(output: Path) -> Path:
    """Where the per-problem records of ``output`` go."""
    return output.with_name(output.stem + ".problems.jsonl")


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill mid-write: that chunk is redone
            break
    return rows


def _resume(output: Path) -> set[str]:
    """The problems already recorded; kept rows of unrecorded problems are dropped from ``output``."""
    done = {r["problem_id"] for r in _read_lines(problems_path(output)) if "problem_id" in r}
    rows = [r for r in _read_lines(output) if r.get("problem_id") in done]
    output.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    problems_path(output).write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _read_lines(problems_path(output))
                if r.get("problem_id") in done), encoding="utf-8")
    return done


def sample_teacher_data(model: Any, tokenizer: Any, problems: Sequence[Problem], output: Path, *, teacher: str,
                        settings: SamplingSettings = SamplingSettings(), progress: bool = True) -> dict[str, Any]:
    """Sample, judge and keep: append the verified answers of ``problems`` to ``output`` (jsonl rows with the
    statement as ``input``, the program as ``solution``, the whole reply as ``output`` and their provenance).
    Returns a summary: problems and samples done, kept, problems with at least one kept, statuses, seconds."""
    settings.check()
    output.parent.mkdir(parents=True, exist_ok=True)
    done = _resume(output) if output.exists() else set()
    todo = [p for p in problems if p.task_id not in done]
    bench = BenchmarkSettings(system_prompt=settings.system_prompt)
    build, prefill = _prompt_builder(tokenizer, "stdio", "chat", bench)
    sampling = {k: v for k, v in asdict(settings).items() if k not in ("problems_per_chunk", "timeout_s")}
    statuses: Counter[str] = Counter()
    kept = solved = 0
    start = time.monotonic()
    for first in range(0, len(todo), settings.problems_per_chunk):
        chunk = todo[first:first + settings.problems_per_chunk]
        seed = chunk_seed(settings.seed, [p.task_id for p in chunk])
        samples = generate_samples(model, tokenizer, chunk, build_prompt=build, prefill=prefill, n=settings.n,
                                   temperature=settings.temperature, top_p=settings.top_p,
                                   max_new_tokens=settings.max_new_tokens, batch_size=settings.batch_size, seed=seed,
                                   progress=False, engine=settings.engine)
        results = evaluate(chunk, samples, timeout_s=settings.timeout_s, progress=False)
        by_problem = {p.task_id: p for p in chunk}
        rows, records = [], {p.task_id: Counter() for p in chunk}
        for sample, record in zip(samples, results["samples"]):
            status = "passed" if verified_pass(record) else record["status"]
            records[sample["task_id"]][status] += 1
            statuses[status] += 1
            if status != "passed":
                continue
            problem = by_problem[sample["task_id"]]
            rows.append({"input": problem.prompt, "solution": extract_code(sample["completion"]),
                         "output": sample["completion"], "problem_id": problem.task_id,
                         "family": problem.metadata.get("family"), "teacher": teacher,
                         "sampling": {**sampling, "seed": seed}, "sample_index": sample["sample_index"],
                         "verdict": f"passed {len(problem.tests)}/{len(problem.tests)} tests"})
        with open(output, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        with open(problems_path(output), "a", encoding="utf-8") as f:
            for p in chunk:
                counts = records[p.task_id]
                f.write(json.dumps({"problem_id": p.task_id, "family": p.metadata.get("family"), "n": settings.n,
                                    "passed": counts["passed"], "statuses": dict(counts), "seed": seed}) + "\n")
        kept += len(rows)
        solved += sum(records[p.task_id]["passed"] > 0 for p in chunk)
        if progress:
            print(f"teach: {first + len(chunk)}/{len(todo)} problems, {kept} answers kept, {solved} problems "
                  f"solved, {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    return {"problems": len(todo), "skipped_already_done": len(done), "samples": len(todo) * settings.n,
            "kept": kept, "problems_solved": solved, "statuses": dict(statuses),
            "seconds": round(time.monotonic() - start, 1)}

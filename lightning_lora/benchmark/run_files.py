"""Benchmarking a model as a training run does it: problem sets by spec, the files written beside a checkpoint
(``<stem>.samples.jsonl`` + ``<stem>.results.json``), and ``best`` / ``best.json`` naming the highest pass@1.

Shared by the training callback (:mod:`lightning_lora.callbacks.benchmark`) and the ``benchmark`` command.
No Lightning here: the model is any Hugging Face causal LM.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from lightning_lora.benchmark.problems import ProblemSet, load_problems
from lightning_lora.benchmark.runner import run_benchmark
from lightning_lora.benchmark.scoring import write_results
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.errors import UserError

#: The quickstart's held-out problems, generated on first use (see :mod:`lightning_lora.data.synthetic`).
SYNTHETIC_CODE = "synthetic:code"


def load_problem_set(settings: BenchmarkSettings) -> ProblemSet:
    """The problems ``settings`` name, filtered and cut to ``max_problems``; a bad spec or filter is a UserError."""
    spec = settings.problems
    if spec is None:
        raise UserError("benchmark settings: problems is unset; name a problem set (e.g. synthetic:code, humaneval).")
    if spec == SYNTHETIC_CODE:
        from lightning_lora.data.synthetic import benchmark_problems, write_jsonl
        from lightning_lora.tiny import default_cache_dir

        path = default_cache_dir() / "data" / "synthetic-code-problems.jsonl"
        if not path.exists():
            write_jsonl(benchmark_problems(), path)
        spec = str(path)
    filters = settings.filters()
    try:
        problems = load_problems(spec, **filters)
    except ValueError as err:
        raise UserError(f"benchmark problems {spec!r}: {err}") from err
    if len(problems) == 0:
        raise UserError(f"benchmark problems {spec!r}: no problem is left after the filters {filters}.")
    if settings.max_problems is not None:
        problems.problems = problems.problems[: settings.max_problems]
    return problems


def score_and_write(model: Any, tokenizer: Any, problems: Any, settings: BenchmarkSettings, out_stem: Path,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Generate, score, and write ``<stem>.samples.jsonl`` and ``<stem>.results.json``; return the results."""
    samples, results = run_benchmark(model, tokenizer, problems, settings)
    results["summary"].update(extra or {})
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    samples_path = out_stem.with_name(out_stem.name + ".samples.jsonl")
    tmp = samples_path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(s) + "\n" for s in samples))
    tmp.replace(samples_path)
    write_results(out_stem.with_name(out_stem.name + ".results.json"), results)
    return results


def headline(results: dict[str, Any]) -> tuple[float, int, int]:
    """(pass@1, problems passed, problems) from a results dict."""
    s = results["summary"]
    return float(s["pass@k"].get("pass@1") or 0.0), int(s["problems_passed"]), int(s["num_problems"])


def update_best(ckpt_dir: Path, checkpoint: Path, step: int, results: dict[str, Any]) -> bool:
    """Point ``best`` and ``best.json`` at ``checkpoint`` if its pass@1 beats the recorded best.

    Ties keep the earlier checkpoint: fewer steps for the same score.
    """
    record_path = ckpt_dir / "best.json"
    if record_path.exists():
        current = json.loads(record_path.read_text())
        if current.get("pass@1", -1.0) >= headline(results)[0] and current.get("checkpoint") != checkpoint.name:
            return False
    write_best(ckpt_dir, checkpoint, step, results)
    return True


def write_best(ckpt_dir: Path, checkpoint: Path, step: int, results: dict[str, Any], tag: str = "") -> None:
    """Write ``best[.tag].json`` naming ``checkpoint``; the ``best`` link only for the run's own settings (no tag)."""
    pass1, passed, total = headline(results)
    suffix = f".{tag}" if tag else ""
    record = {"checkpoint": checkpoint.name, "step": step, "pass@1": pass1, "passed": passed, "total": total,
              "results": f"{checkpoint.stem}{suffix}.results.json"}
    record_path = ckpt_dir / f"best{suffix}.json"
    tmp = record_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(record_path)
    if tag:
        return
    tmp_link = ckpt_dir / ".best.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(checkpoint.name, tmp_link)
    tmp_link.replace(ckpt_dir / "best")


def settings_tag(overrides: dict[str, Any]) -> str:
    """A short file-name tag for results made with settings other than the run's (``""`` for none)."""
    parts = []
    for key, value in sorted(overrides.items()):
        text = "_".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        if len(text) > 16 or not re.fullmatch(r"[A-Za-z0-9._-]*", text):
            text = hashlib.sha256(text.encode()).hexdigest()[:8]
        parts.append(f"{key}{text}")
    return "-".join(parts)


def format_table(rows: list[tuple[int, float, int, int]], best_step: int | None) -> str:
    """Markdown table: step, pass@1, passed/total; the best checkpoint marked."""
    lines = ["| step | pass@1 | passed/total | |", "|---:|---:|---:|---|"]
    for step, pass1, passed, total in rows:
        lines.append(f"| {step} | {pass1:.4f} | {passed}/{total} | {'best' if step == best_step else ''} |")
    return "\n".join(lines)

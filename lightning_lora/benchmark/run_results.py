"""Benchmarking a model as a training run does it: problem sets by spec, and the files written beside a checkpoint
(``<stem>.samples.jsonl`` + ``<stem>.results.json``, each atomically). ``best`` / ``best.json`` naming the highest
pass@1 are the run folder's records: :mod:`lightning_lora.checkpoints.run_folder` writes them.

Shared by the training callback (:mod:`lightning_lora.callbacks.benchmark`) and the ``benchmark`` command.
No Lightning here: the model is any Hugging Face causal LM.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from lightning_lora.benchmark.runner import run_benchmark
from lightning_lora.benchmark.scoring import write_results
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.errors import UserError
from lightning_lora.files import atomic_write_jsonl, default_cache_dir
from lightning_lora.problems.sources import ProblemSet, load_problems
from lightning_lora.problems.synthetic import benchmark_problems, write_jsonl

#: The quickstart's held-out problems, generated on first use (see :mod:`lightning_lora.problems.synthetic`).
SYNTHETIC_CODE = "synthetic:code"


def load_problem_set(settings: BenchmarkSettings) -> ProblemSet:
    """The problems ``settings`` name, filtered and cut to ``max_problems``; a bad spec or filter is a UserError."""
    spec = settings.problems
    if spec is None:
        raise UserError("benchmark settings: problems is unset; name a problem set (e.g. synthetic:code, humaneval).")
    if spec == SYNTHETIC_CODE:
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
    atomic_write_jsonl(out_stem.with_name(out_stem.name + ".samples.jsonl"), samples)
    write_results(out_stem.with_name(out_stem.name + ".results.json"), results)
    return results


def headline(results: dict[str, Any]) -> tuple[float, int, int]:
    """(pass@1, problems passed, problems) from a results dict."""
    s = results["summary"]
    return float(s["pass@k"].get("pass@1") or 0.0), int(s["problems_passed"]), int(s["num_problems"])


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

"""Benchmark a training run's model: the base model, one checkpoint, or every checkpoint of a run.

Glue between training (configs, checkpoints) and the pure benchmark package: it builds the model a
config describes, loads trainable weights from a checkpoint after checking they belong to it, runs
:func:`lightning_lora.benchmark.runner.run_benchmark`, writes the files and keeps ``best`` current.

    python -m lightning_lora benchmark --config configs/quickstart.yaml [--ckpt_path X] --problems synthetic:code
    python -m lightning_lora benchmark --checkpoints_dir checkpoints/quickstart
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from lightning_lora.benchmark.runner import BenchmarkSettings, run_benchmark
from lightning_lora.benchmark.scoring import write_results
from lightning_lora.checkpoints import load_checkpoint_file
from lightning_lora.errors import UserError

STEP_PATTERN = re.compile(r"step(\d+)\.ckpt$")


def load_problem_set(spec: str, **filters: Any) -> Any:
    """Problems for ``spec``; ``synthetic:code`` is the generated held-out set of the quickstart."""
    from lightning_lora.benchmark.problems import load_problems

    if spec == "synthetic:code":
        from lightning_lora.data.synthetic import benchmark_problems, write_jsonl
        from lightning_lora.tiny import default_cache_dir

        path = default_cache_dir() / "data" / "synthetic-code-problems.jsonl"
        if not path.exists():
            write_jsonl(benchmark_problems(), path)
        spec = str(path)
    try:
        problems = load_problems(spec, **filters)
    except ValueError as err:
        raise UserError(f"benchmark problems {spec!r}: {err}") from err
    if len(problems) == 0:
        raise UserError(f"benchmark problems {spec!r}: no problem is left after the filters {filters}.")
    return problems


def settings_from(options: dict[str, Any]) -> BenchmarkSettings:
    """BenchmarkSettings from a dict, ignoring keys it does not have; a bad value is a UserError."""
    names = {f.name for f in fields(BenchmarkSettings)}
    try:
        return BenchmarkSettings(**{k: v for k, v in options.items() if k in names and v is not None})
    except ValueError as err:
        raise UserError(f"benchmark settings: {err}") from err


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


def checkpoints_in(ckpt_dir: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the step checkpoints in a folder, in step order (``last`` and ``best`` are aliases)."""
    found = [(int(m.group(1)), p) for p in ckpt_dir.glob("*.ckpt") if (m := STEP_PATTERN.search(p.name))]
    return sorted(found)


def load_trainable_weights(module: Any, checkpoint_path: Path) -> int:
    """Load a checkpoint's trainable weights into ``module`` after checking they belong to it; return its step."""
    from lightning_lora.modules.base import check_checkpoint

    checkpoint = load_checkpoint_file(checkpoint_path)
    try:
        check_checkpoint(checkpoint, module.checkpoint_metadata())
    except UserError as err:
        raise UserError(f"{checkpoint_path}: {err}") from err
    module.load_state_dict(checkpoint["state_dict"], strict=False)
    return int(checkpoint.get("global_step", 0))


def build_parser() -> Any:
    """Options of ``benchmark --config`` / ``benchmark --checkpoints_dir``."""
    from jsonargparse import ArgumentParser

    p = ArgumentParser(prog="lightning_lora benchmark", exit_on_error=False,
                       description="Benchmark the base model, one checkpoint, or every checkpoint of a run.")
    p.add_argument("--config", type=str | None, default=None,
                   help="training config (default: <checkpoints_dir>/config.yaml, saved by fit)")
    p.add_argument("--ckpt_path", type=str | None, default=None, help="checkpoint to score; none = the base model")
    p.add_argument("--checkpoints_dir", type=str | None, default=None, help="score every step checkpoint in this folder")
    p.add_argument("--problems", type=str | None, default=None,
                   help="problem spec; default: the BenchmarkCallback's in the config")
    p.add_argument("--max_problems", type=int | None, default=None, help="use only the first N problems")
    for name, kind in (("n", int), ("temperature", float), ("top_p", float), ("max_new_tokens", int),
                       ("batch_size", int), ("timeout_s", float), ("memory_mb", int), ("workers", int),
                       ("system_prompt", str)):
        p.add_argument(f"--{name}", type=kind | None, default=None, help=f"generation/scoring: {name} (default: the config's)")
    p.add_argument("--k", type=list[int] | None, default=None, help="pass@k values, e.g. [1,5]")
    return p


def _callback_options(trainer: Any) -> tuple[str | None, dict[str, Any], dict[str, Any], int | None]:
    from lightning_lora.callbacks.benchmark import BenchmarkCallback

    for callback in trainer.callbacks:
        if isinstance(callback, BenchmarkCallback):
            return callback.spec, dict(callback.options), dict(callback.filters), callback.max_problems
    return None, {}, {}, None


def main(argv: list[str]) -> int:
    """``python -m lightning_lora benchmark --config ... | --checkpoints_dir ...``."""
    from lightning_lora.cli import build_cli

    try:
        args = build_parser().parse_args(argv)
    except Exception as err:  # jsonargparse: unknown option or bad type
        raise UserError(f"benchmark: {(str(err).strip().splitlines() or ['bad arguments'])[0]}") from err
    ckpt_dir = Path(args.checkpoints_dir) if args.checkpoints_dir else None
    if ckpt_dir is not None and not ckpt_dir.is_dir():
        raise UserError(f"--checkpoints_dir {ckpt_dir} is not a folder.")
    config = args.config or (str(ckpt_dir / "config.yaml") if ckpt_dir is not None else None)
    if config is None or not Path(config).is_file():
        raise UserError(f"benchmark needs a training config: --config {config or '(none given)'} not found.")
    cli = build_cli(["--config", config, "--trainer.logger", "false"], run=False)
    module = cli.model
    spec, options, filters, max_problems = _callback_options(cli.trainer)
    spec = args.problems or spec
    if spec is None:
        raise UserError("benchmark: no --problems given and the config has no BenchmarkCallback to take them from.")
    if args.problems:
        filters = {}
    overrides = {k: getattr(args, k) for k in ("n", "temperature", "top_p", "max_new_tokens", "batch_size",
                                                 "timeout_s", "memory_mb", "system_prompt", "k", "max_problems")
                 if getattr(args, k) is not None}
    if args.problems:
        overrides["problems"] = Path(args.problems).stem
    tag = settings_tag(overrides)
    options.update({k: v for k, v in overrides.items() if k not in ("problems", "max_problems", "k")})
    if args.k:
        options["k"] = tuple(args.k)
    if args.workers is not None:
        options["workers"] = args.workers
    if options.get("system_prompt") is None:
        options["system_prompt"] = getattr(cli.datamodule, "system_prompt", None)
    settings = settings_from(options)
    problems = load_problem_set(spec, **filters)
    limit = args.max_problems or max_problems
    if limit:
        problems.problems = problems.problems[:limit]
    suffix = f".{tag}" if tag else ""
    if ckpt_dir is None and not args.ckpt_path:
        out = Path("checkpoints") / cli.config.run_name / f"base{suffix}"
        results = score_and_write(module.model, module.tokenizer, problems, settings, out,
                                  extra={"checkpoint": None, "step": 0, "model": module.model_name_or_path})
        pass1, passed, total = headline(results)
        print(f"base model {module.model_name_or_path}: pass@1 {pass1:.4f} ({passed}/{total}); "
              f"results in {out}.results.json")
        return 0
    targets = [(0, Path(args.ckpt_path))] if ckpt_dir is None else checkpoints_in(ckpt_dir)
    if not targets:
        raise UserError(f"--checkpoints_dir {ckpt_dir} holds no step checkpoints (step*.ckpt).")
    rows = []
    for _, path in targets:
        step = load_trainable_weights(module, path)
        results = score_and_write(module.model, module.tokenizer, problems, settings,
                                  path.with_name(path.stem + suffix), extra={"checkpoint": path.name, "step": step})
        rows.append((step, path, results))
    best_step = None
    if ckpt_dir is not None:  # a full pass: the best is chosen afresh among these results
        step, path, results = max(rows, key=lambda row: (headline(row[2])[0], -row[0]))
        write_best(ckpt_dir, path, step, results, tag)
        best_step = step
    print(format_table([(step, *headline(results)) for step, _, results in rows], best_step))
    if tag:
        print(f"(settings differ from the run's: results written as *.{tag}.results.json)")
    return 0


def format_table(rows: list[tuple[int, float, int, int]], best_step: int | None) -> str:
    """Markdown table: step, pass@1, passed/total; the best checkpoint marked."""
    lines = ["| step | pass@1 | passed/total | |", "|---:|---:|---:|---|"]
    for step, pass1, passed, total in rows:
        lines.append(f"| {step} | {pass1:.4f} | {passed}/{total} | {'best' if step == best_step else ''} |")
    return "\n".join(lines)

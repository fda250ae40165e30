"""The few lines a finished ``fit`` ends with: what happened, where everything is, what to run next."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lightning_lora.checkpoints.reading import checkpoints_in
from lightning_lora.checkpoints.summary import summary_line


def fit_summary(trainer: Any) -> str:
    """Steps, time, final losses, the best checkpoint and its metric, the run's folders and the next commands."""
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if getattr(v, "numel", lambda: 1)() == 1}
    ckpt_dir = Path(trainer.checkpoint_callback.dirpath) if trainer.checkpoint_callback else None
    # The logger's own folder: ``trainer.log_dir`` broadcasts, a collective the other DDP ranks have left.
    log_dir = Path(trainer.logger.log_dir) if getattr(trainer.logger, "log_dir", None) else None
    train_time = _read_json(log_dir / "train_summary.json").get("train_time_s") if log_dir else None
    final = ", ".join(f"{k} {metrics[k]:.4g}" for k in ("train/loss", "val/loss", "val/accuracy") if k in metrics)
    # A resumed run that had already reached its end trains nothing and logs no loss: say so, not "Final ."
    if final:
        lines = [f"Finished: {trainer.global_step} steps" + (f" in {_duration(train_time)}" if train_time is not None else "")
                 + f". Final {final}."]
    else:
        lines = [f"Finished: {trainer.global_step} steps (nothing left to train: the checkpoint had reached the end)."]
    best = _read_json(ckpt_dir / "best.json") if ckpt_dir else {}
    if best.get("checkpoint"):
        lines.append(f"Best checkpoint: {_shown(ckpt_dir / best['checkpoint'])} (step {best.get('step')}, {_best_score(best)}).")
    newest = _newest_checkpoint(ckpt_dir) if ckpt_dir else None
    if not best.get("checkpoint") and newest is not None:
        lines.append(f"Last checkpoint: {_shown(newest)} (no benchmark ran, so no best one is chosen).")
    evaluations = _read_json(ckpt_dir / "evaluations.json") if ckpt_dir else {}
    if evaluations:
        lines.append(f"Per-checkpoint evaluation: {summary_line(evaluations)}.")
    if ckpt_dir:
        results = " and each checkpoint's benchmark results (*.results.json)" if best else ""
        lines.append(f"Checkpoints{results}: {_shown(ckpt_dir)}/")
    tensorboard = type(trainer.logger).__name__ == "TensorBoardLogger"
    if log_dir:
        kind = "TensorBoard" if tensorboard else type(trainer.logger).__name__.removesuffix("Logger")
        lines.append(f"Logs ({kind}, config.yaml, params.json, train_summary.json): {_shown(log_dir)}/")
    lines.append("Next:")
    if log_dir:
        if tensorboard:
            lines.append(f"  tensorboard --logdir {_shown(log_dir.parent)}")
        lines.append(f"  python -m lightning_lora report --runs {_shown(log_dir)}")
    chosen = ckpt_dir / "best" if ckpt_dir and best.get("checkpoint") else newest
    if chosen is not None:  # only a checkpoint that exists (save_last false writes no last.ckpt)
        lines.append(f"  python -m lightning_lora export --ckpt_path {_shown(chosen)} --output exported/{ckpt_dir.name}")
    return "\n".join(lines)


def _newest_checkpoint(ckpt_dir: Path) -> Path | None:
    """``last.ckpt`` where it exists, else the highest step checkpoint, else None."""
    if (ckpt_dir / "last.ckpt").is_file():
        return ckpt_dir / "last.ckpt"
    steps = checkpoints_in(ckpt_dir) if ckpt_dir.is_dir() else []
    return steps[-1][1] if steps else None


def _best_score(best: dict[str, Any]) -> str:
    """How best.json says the best checkpoint was chosen: by pass@1 (the benchmark) or by a monitored metric."""
    if "monitor" in best and best["monitor"] != "benchmark/pass@1":
        return f"{best['monitor']} {best['score']:.4g}, best by {best['mode']}"
    if "passed" in best:
        return f"pass@1 {best.get('pass@1', 0):.3f}: {best['passed']}/{best.get('total')} problems"
    return f"pass@1 {best.get('pass@1', 0):.3f}"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{seconds:.1f} s"


def _shown(path: Path) -> str:
    """Relative to the working folder where the path is inside it, as the user's own options name it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative

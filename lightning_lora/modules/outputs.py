"""Files a ``validate`` or ``test`` run leaves in its run folder: metrics.json, predictions.jsonl, plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch


def run_folder(trainer: Any) -> Path:
    """The run's log folder (``tb_logs/<run>/version_N``), created if needed."""
    folder = Path(trainer.log_dir or ".")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_eval_outputs(trainer: Any, stage: str, split: str, metrics: dict[str, Any], predictions: list[dict[str, Any]],
                       method: str) -> Path:
    """Write ``metrics.json`` (what was evaluated, on which split, with which weights) and ``predictions.jsonl``."""
    folder = run_folder(trainer)
    record = {"stage": trainer.state.fn.value if trainer.state.fn else stage, "split": split, "method": method,
              "checkpoint": trainer.ckpt_path, "checkpoint_step": getattr(trainer.lightning_module, "loaded_step", None),
              "num_examples": len(predictions), "metrics": metrics}
    (folder / "metrics.json").write_text(json.dumps(record, indent=2) + "\n")
    with open(folder / "predictions.jsonl", "w", encoding="utf-8") as f:
        for row in predictions:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return folder


def confusion_figure(confusion: torch.Tensor, label_names: list[str], title: str) -> Any:
    """A matplotlib figure of a confusion matrix (rows: true class, columns: predicted), with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(label_names)
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * n, 1.0 + 0.8 * n))
    ax.imshow(confusion.numpy(), cmap="Blues")
    ax.set_xticks(range(n), label_names, rotation=45, ha="right")
    ax.set_yticks(range(n), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    peak = int(confusion.max()) or 1
    for i in range(n):
        for j in range(n):
            value = int(confusion[i, j])
            ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    fig.tight_layout()
    return fig

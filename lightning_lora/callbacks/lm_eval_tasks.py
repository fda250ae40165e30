"""Run lm-evaluation-harness tasks on every checkpoint as it is saved; log ``lm_eval/<task>/<metric>``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from lightning_lora.callbacks.on_save import EvaluateOnSave, run_checkpoint
from lightning_lora.evaluation.lm_eval_tasks import (
    HarnessSettings,
    flat_metrics,
    require_lm_eval,
    run_harness,
    task_manager,
    write_result,
)


class HarnessCallback(EvaluateOnSave):
    """After each checkpoint save, run lm-eval tasks on the current weights (rank zero; the others wait).

    Results go next to the checkpoint (``step000020.lm_eval.json``), ``lm_eval/<task>/<metric>`` to the loggers
    and to ``trainer.callback_metrics``, and into the run's ``scores.json``, so ``--checkpoint.monitor
    lm_eval/<task>/acc`` keeps the best checkpoints by a task and ``EarlyStopping`` can watch one.

    Args:
        settings: the tasks and how to run them (:class:`~lightning_lora.evaluation.lm_eval_tasks.HarnessSettings`); keep
            ``limit`` small: every checkpoint pays for it.
        wait_timeout_s: how long the other ranks wait for one evaluation (multi-process runs).
    """

    kind = "lm_eval"  # its seconds in scores.json: a resumed run evaluates its checkpoint again only without them

    def __init__(self, settings: HarnessSettings, wait_timeout_s: float = 24 * 3600.0) -> None:
        require_lm_eval()
        super().__init__(wait_timeout_s)
        self.settings = settings
        self._manager: Any = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if stage == "fit" and trainer.is_global_zero:
            self._manager = task_manager(self.settings)  # unknown tasks fail here, before training

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, step: int, checkpoint: Path) -> dict[str, float]:
        result = run_harness(pl_module.model, pl_module.tokenizer, self.settings, self._manager)
        write_result(checkpoint.with_name(checkpoint.stem + ".lm_eval.json"),
                     {"checkpoint": checkpoint.name, "step": step, **result})
        metrics = flat_metrics(result)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
        keeper = run_checkpoint(trainer)
        if keeper is not None:
            keeper.add_scores(trainer, checkpoint, step, metrics, {"lm_eval": result["seconds"]})
        shown = ", ".join(f"{k.removeprefix('lm_eval/')} {v:.3f}" for k, v in metrics.items())
        rank_zero_info(f"[lightning_lora] lm-eval at step {step}: {shown} in {result['seconds']:.1f}s")
        return metrics

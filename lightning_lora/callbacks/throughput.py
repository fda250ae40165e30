"""Tokens per second counted on real tokens only (padding excluded), logged as ``train/tokens_per_sec``."""

from __future__ import annotations

import time
from typing import Any

import lightning as L


class TokenThroughput(L.Callback):
    """Logs non-pad tokens/s and target (loss-bearing) tokens/s per optimizer step window.

    Args:
        window: number of training batches averaged per logged value.
    """

    def __init__(self, window: int = 20) -> None:
        self.window = window
        self._start: float | None = None
        self._tokens = 0
        self._targets = 0
        self._batches = 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        if self._start is None:
            self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._tokens += int(batch["attention_mask"].sum())
        self._targets += int((batch["labels"] != -100).sum())
        self._batches += 1
        if self._batches >= self.window:
            self._flush(trainer, pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Validation time is not training throughput: close the window before it starts.
        self._flush(trainer, pl_module)

    def _flush(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._batches and self._start is not None:
            elapsed = time.perf_counter() - self._start
            # Assumes ranks see similar batches: each rank's count times the world size.
            world = trainer.world_size
            metrics = {"train/tokens_per_sec": self._tokens * world / elapsed,
                       "train/target_tokens_per_sec": self._targets * world / elapsed}
            if trainer.is_global_zero:
                for logger in trainer.loggers:
                    logger.log_metrics(metrics, step=trainer.global_step)
            if trainer.training:
                pl_module.log("tok/s", metrics["train/tokens_per_sec"], prog_bar=True, logger=False,
                              on_step=True, on_epoch=False)
        self._start, self._tokens, self._targets, self._batches = None, 0, 0, 0

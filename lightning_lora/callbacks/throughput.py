"""Tokens per second counted on real tokens only (padding excluded), logged as ``train/tokens_per_sec``."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch


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
        if self._batches < self.window or self._start is None:
            return
        elapsed = time.perf_counter() - self._start
        world = trainer.world_size
        pl_module.log_dict(
            {"train/tokens_per_sec": torch.tensor(self._tokens * world / elapsed),
             "train/target_tokens_per_sec": torch.tensor(self._targets * world / elapsed)},
            on_step=True, on_epoch=False, prog_bar=False,
        )
        self._start, self._tokens, self._targets, self._batches = None, 0, 0, 0

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Validation time is not training throughput: restart the window.
        self._start, self._tokens, self._targets, self._batches = None, 0, 0, 0

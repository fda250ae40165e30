"""Test callback: SIGKILL the training process at a chosen step (no cleanup, no exception hooks)."""

from __future__ import annotations

import os
import signal

import lightning as L


class KillAtStep(L.Callback):
    """Kills the process at the start of the batch after ``step`` optimizer steps."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class InterruptAfterForward(L.Callback):
    """Ctrl-C inside a step: KeyboardInterrupt after the forward pass (dropout drawn) of this process's
    ``batch``-th training batch (counted from 0)."""

    def __init__(self, batch: int) -> None:
        self.batch, self.seen = batch, -1

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int) -> None:
        self.seen += 1

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: object) -> None:
        if self.seen == self.batch:
            raise KeyboardInterrupt


class TerminateAtBatch(L.Callback):
    """SIGTERM at the start of this process's ``batch``-th training batch (counted from 0)."""

    def __init__(self, batch: int) -> None:
        self.batch, self.seen = batch, 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int) -> None:
        if self.seen == self.batch:
            os.kill(os.getpid(), signal.SIGTERM)
        self.seen += 1

"""Test callbacks that stop a training run at a chosen point: SIGKILL (no cleanup, no exception hooks), SIGTERM,
or Ctrl-C (KeyboardInterrupt) inside a step, a validation or the benchmark of a saved checkpoint."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import lightning as L

from lightning_lora.benchmark.run_results import score_and_write
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.callbacks.benchmark import BenchmarkCallback


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


class KillInValidation(L.Callback):
    """SIGKILL in the middle of the validation at global step ``step`` (after its first batch)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_validation_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: object, batch: object,
                                batch_idx: int, dataloader_idx: int = 0) -> None:
        if not trainer.sanity_checking and trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class BenchmarkInterruptedAt(BenchmarkCallback):
    """The code benchmark callback, with a Ctrl-C in the middle of the benchmark of the checkpoint of step ``step``:
    its programs are generated and scored, its results not yet recorded."""

    def __init__(self, settings: BenchmarkSettings, step: int) -> None:
        super().__init__(settings)
        self.step = step

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, step: int, checkpoint: Path) -> dict[str, float]:
        if step == self.step:
            score_and_write(pl_module.model, pl_module.tokenizer, self._problems, self.settings, checkpoint.with_suffix(""))
            raise KeyboardInterrupt
        return super().evaluate(trainer, pl_module, step, checkpoint)


class InterruptInSave(L.Callback):
    """Ctrl-C while the checkpoint of global step ``step`` is being written (once)."""

    def __init__(self, step: int) -> None:
        self.step, self.done = step, False

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        if trainer.global_step == self.step and not self.done:
            self.done = True
            raise KeyboardInterrupt

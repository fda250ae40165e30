"""SIGTERM (preemption) stops every process at the same step boundary, so the checkpoint saved on the way out resumes exactly."""

from __future__ import annotations

import signal
from typing import Any

import lightning as L
import torch

from lightning_lora.lightning_internals import batches_done, request_sigterm_stop


class SynchronizedStop(L.Callback):
    """Turns a SIGTERM received by any process into a stop of all processes at the same batch end.

    Lightning's own handler broadcasts from inside the signal handler and lets each process stop
    at the end of its current batch on its own flag; when the processes get the signal at slightly
    different moments (a scheduler signals every task) their collectives no longer match. Here the
    handler only records the request. At the end of each training batch the processes agree on it
    (one small all-reduce) and, at the end of a gradient-accumulation window, hand it to Lightning,
    which then stops every process at that same batch end and saves a checkpoint (exit status 143).
    """

    def __init__(self) -> None:
        self._requested = False
        self._previous: Any = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._previous = signal.signal(signal.SIGTERM, self._record)

    def _record(self, signum: int, frame: Any) -> None:
        self._requested = True

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        requested = self._requested
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized() and trainer.world_size > 1:
            flag = torch.tensor([float(requested)], device=trainer.strategy.root_device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            requested = bool(flag.item())
        done = batches_done(trainer)
        window_end = done % trainer.accumulate_grad_batches == 0 or done == trainer.num_training_batches
        if requested and window_end:
            request_sigterm_stop(trainer)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None

"""ModelCheckpoint that saves on Ctrl-C / SIGTERM / crashes, but never a state a non-finite loss revealed."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_warn


class RunCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint; on a non-finite loss (``FloatingPointError``) it saves nothing.

    The weights that produced a NaN may already be poisoned, so the checkpoint written before it
    stays ``last`` and training can resume from there (with a lower learning rate, say).
    """

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, FloatingPointError):
            rank_zero_warn(f"Not saving a checkpoint after a non-finite loss; {self.last_model_path or 'no checkpoint'} "
                           "is the last good one.")
            return
        super().on_exception(trainer, pl_module, exception)

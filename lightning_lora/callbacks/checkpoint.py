"""ModelCheckpoint that saves on Ctrl-C / SIGTERM / crashes, but never a state a non-finite loss revealed."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_warn


class RunCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint, plus two rules.

    - Training that ends between two saves (``max_steps`` or the last epoch not a multiple of
      ``every_n_train_steps``) saves a final step checkpoint and ``last``: the end state is never lost.
    - On a non-finite loss (``FloatingPointError``) it saves nothing: the weights that produced a
      NaN may already be poisoned, so the checkpoint written before stays ``last`` and training can
      resume from there (with a lower learning rate, say).
    """

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking and not trainer.fast_dev_run and self._last_global_step_saved != trainer.global_step:
            candidates = self._monitor_candidates(trainer)
            filepath = self.format_checkpoint_name(candidates)
            self._save_checkpoint(trainer, filepath)
            if self.monitor is None:  # as Lightning does: without a monitor, "best" is the newest
                self.best_model_path = filepath
            self._save_last_checkpoint(trainer, candidates)
        super().on_train_end(trainer, pl_module)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, FloatingPointError):
            rank_zero_warn(f"Not saving a checkpoint after a non-finite loss; {self.last_model_path or 'no checkpoint'} "
                           "is the last good one.")
            return
        super().on_exception(trainer, pl_module, exception)

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
    - An interruption inside a gradient-accumulation window saves nothing either: the partial
      gradients are not part of a checkpoint, so resuming from one would change the step.
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
        last = self.last_model_path or "no checkpoint"
        if isinstance(exception, FloatingPointError):
            rank_zero_warn(f"Not saving a checkpoint after a non-finite loss; {last} is the last good one.")
            return
        progress = trainer.fit_loop.epoch_loop.batch_progress.current
        accumulate, done = trainer.accumulate_grad_batches, progress.processed
        if accumulate > 1 and done % accumulate and done != trainer.num_training_batches:
            rank_zero_warn(f"Not saving a checkpoint: interrupted after micro-batch {done % accumulate} of a "
                           f"{accumulate}-batch gradient accumulation, whose gradients a checkpoint cannot hold; "
                           f"{last} stays the one to resume from.")
            return
        if progress.started > progress.processed:
            # Interrupted inside a step: the weights are those after the last completed step. Count the
            # logged steps as a save at that step's end would, or the resumed run logs one step late.
            trainer.fit_loop.epoch_loop._batches_that_stepped -= 1
        super().on_exception(trainer, pl_module, exception)

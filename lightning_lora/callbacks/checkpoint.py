"""ModelCheckpoint that saves on Ctrl-C / SIGTERM / crashes, but never a state a non-finite loss revealed."""

from __future__ import annotations

import sys

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_warn

from lightning_lora.checkpoint_io import DiskFullError
from lightning_lora.lightning_internals import batch_in_progress, batches_done, save_step_checkpoint, uncount_interrupted_step


class RunCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint, plus two rules.

    - Training that ends between two saves (``max_steps`` or the last epoch not a multiple of
      ``every_n_train_steps``) saves a final step checkpoint and ``last``: the end state is never lost.
    - On a non-finite loss (``FloatingPointError``) it saves nothing: the weights that produced a
      NaN may already be poisoned, so the checkpoint written before stays ``last`` and training can
      resume from there (with a lower learning rate, say).
    - An interruption inside a gradient-accumulation window saves nothing either: the partial
      gradients are not part of a checkpoint, so resuming from one would change the step.
    - A full disk is not tried again (the error says what was kept), and Ctrl-C says in one line what
      was saved, if anything.
    """

    saves = 0

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking and not trainer.fast_dev_run:
            save_step_checkpoint(self, trainer)
        super().on_train_end(trainer, pl_module)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        last = self.last_model_path or "no checkpoint"
        if isinstance(exception, DiskFullError):
            return
        saves_before = self.saves
        self._save_on_exception(trainer, pl_module, exception, last)
        if isinstance(exception, KeyboardInterrupt) and trainer.is_global_zero:
            if self.saves > saves_before:
                outcome = f"saved step {trainer.global_step} as {self.last_model_path}; resume with --ckpt_path last."
            elif self.last_model_path:
                outcome = f"nothing was saved; {self.last_model_path} is the checkpoint to resume from."
            else:
                outcome = "nothing was saved (no optimizer step had completed)."
            print(f"Interrupted (Ctrl-C) at step {trainer.global_step}: {outcome}", file=sys.stderr, flush=True)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        self.saves += 1  # every checkpoint written in this process, by this callback or another
        super().on_save_checkpoint(trainer, pl_module, checkpoint)

    def _save_on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException,
                           last: str) -> None:
        if isinstance(exception, FloatingPointError):
            rank_zero_warn(f"Not saving a checkpoint after a non-finite loss; {last} is the last good one.")
            return
        accumulate, done = trainer.accumulate_grad_batches, batches_done(trainer)
        if accumulate > 1 and done % accumulate and done != trainer.num_training_batches:
            rank_zero_warn(f"Not saving a checkpoint: interrupted after micro-batch {done % accumulate} of a "
                           f"{accumulate}-batch gradient accumulation, whose gradients a checkpoint cannot hold; "
                           f"{last} stays the one to resume from.")
            return
        if batch_in_progress(trainer):
            # Interrupted inside a step: the weights are those after the last completed step. Count the
            # logged steps as a save at that step's end would, or the resumed run logs one step late.
            uncount_interrupted_step(trainer)
        super().on_exception(trainer, pl_module, exception)

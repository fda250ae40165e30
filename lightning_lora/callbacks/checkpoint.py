"""ModelCheckpoint that saves on Ctrl-C / SIGTERM / crashes, but never a state a non-finite loss revealed,
and keeps the best ``save_top_k`` by a metric known only once a checkpoint is evaluated."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.callbacks.early_stopping import EarlyStoppingReason
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lightning_lora.checkpoints.atomic_io import DiskFullError
from lightning_lora.checkpoints.reading import STEP_PATTERN, load_checkpoint_file
from lightning_lora.checkpoints.run_folder import (
    SCORES_FILE,
    TABLE_FILE,
    KeepBest,
    read_best,
    read_scores,
    record_scores,
    write_early_stop,
    write_fit_records,
)
from lightning_lora.checkpoints.summary import evaluation_summary, scores_table, summary_line
from lightning_lora.errors import UserError
from lightning_lora.lightning_internals import (
    batches_done,
    every_n_train_steps,
    last_saved_step,
    log_batch_cut_short,
    loops_state,
    run_validation_now,
    save_last_checkpoint,
    save_step_checkpoint,
    validation_due_after_last_batch,
)

#: Metrics their own callbacks record for the checkpoint they evaluated (not read back at validation end).
EVALUATION_PREFIXES = ("benchmark/", "lm_eval/")


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
    - An interruption (Ctrl-C, SIGTERM, a crash) anywhere, inside a step, a validation, a save or the evaluation
      of a saved checkpoint, saves the state at the end of the last completed step, exactly as a periodic save
      at that step would have (loop counters included, so later validations and logging steps do not shift),
      and only as ``last``: a step already saved is not written again, and no extra step file is left beside
      the periodic ones. A resumed run whose checkpoint's own validation never finished (interrupted, or killed)
      runs it first, before training on, where Lightning would skip it.

    With ``monitor`` (``--checkpoint.monitor benchmark/pass@1 --checkpoint.mode max --checkpoint.save_top_k 3``)
    every checkpoint is first saved, then scored when its evaluation ends (its benchmark, lm-eval tasks or
    validation at the same step), and the files outside the best ``save_top_k`` are deleted then
    (:class:`~lightning_lora.checkpoints.run_folder.KeepBest`); results files stay, ``best`` names the top one, ``last``
    stays. Scores live in ``scores.json`` in the checkpoint folder, so a resumed run ranks its earlier ones too.
    A run EarlyStopping ends leaves ``early_stop.json`` with the reason (a resume is refused while it is there).
    """

    keep: KeepBest | None = None
    #: Step checkpoints whose evaluation runs elsewhere and has not arrived (a background benchmark): keep-best does
    #: not delete them before it has.
    awaiting: frozenset[str] = frozenset()
    saves = 0
    #: The last global step whose validation ended (in this process or, restored, an earlier one).
    _validated_step = -1
    #: The training metrics (train loss, learning rates) when the checkpoint was saved: a validation run again on
    #: resume records them with its own, as the uninterrupted run's validation did.
    _metrics_at_save: dict[str, float] = {}
    _revalidating = False
    _trainer_for_state: L.Trainer | None = None
    #: (epoch, batches done, global step, loops' state) at the end of the last completed optimizer step.
    _step_end: tuple[int, int, int, dict[str, Any]] | None = None
    #: The loops' state an exception save writes instead of the current one.
    _loops_for_save: dict[str, Any] | None = None

    def keep_rule(self) -> KeepBest | None:
        """The run's keep-best rule (``--checkpoint.monitor`` with ``save_top_k``), whether or not fit set it up."""
        if self.keep is None and self.monitor is not None and self.save_top_k != 0:
            return KeepBest(self.monitor, self.mode, self.save_top_k)
        return self.keep

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        rule = self.keep_rule()
        if self.keep is None and rule is not None:
            # Lightning would rank a checkpoint by the metric logged before it was saved (the previous
            # validation's): rank it by its own evaluation instead, and let Lightning keep every file till then.
            self.keep = rule
            self.monitor, self.save_top_k = None, -1
        self._trainer_for_state = trainer
        super().setup(trainer, pl_module, stage)

    def add_scores(self, trainer: L.Trainer, checkpoint: Path, step: int, metrics: dict[str, float],
                   seconds: dict[str, float] | None = None) -> bool:
        """Record an evaluation of ``checkpoint`` (rank zero) and apply keep-best; return whether it is ``best`` now."""
        record_scores(checkpoint.parent, checkpoint.name, step, metrics, seconds)
        if self.keep is None:
            return False
        deleted = self._keep_for_now(checkpoint.parent).apply(checkpoint.parent)
        if deleted:
            rank_zero_info(f"[lightning_lora] kept the best {self.keep.save_top_k} by {self.keep.monitor}; "
                           f"deleted {', '.join(deleted)} (results files kept)")
        return read_best(checkpoint.parent).get("checkpoint") == checkpoint.name and self.keep.monitor in metrics

    def _keep_for_now(self, folder: Path) -> KeepBest:
        """:attr:`keep`, with ``save_top_k`` raised just enough that no checkpoint in :attr:`awaiting` is deleted (one
        ranked already by another metric, say its validation's ``val/loss``); the files between wait for the next
        score to be deleted."""
        assert self.keep is not None
        if not self.awaiting or self.keep.save_top_k == -1:
            return self.keep
        ranked = [name for name in self.keep.ranked(read_scores(folder)) if (folder / name).is_file()]
        places = [place for place, name in enumerate(ranked, 1) if name in self.awaiting]
        return dataclasses.replace(self.keep, save_top_k=max([self.keep.save_top_k, *places]))

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        done = batches_done(trainer)
        if done % trainer.accumulate_grad_batches == 0 or done == trainer.num_training_batches:
            # The state a save at this step's end holds (the periodic save below writes the same): what a save on
            # an interruption before the next step's end writes.
            self._step_end = (trainer.current_epoch, done, trainer.global_step, loops_state(trainer))
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        step = trainer.global_step
        if trainer.ckpt_path is None or step == 0 or not validation_due_after_last_batch(trainer):
            return
        if self._validated_step == step or self._validation_recorded(step):
            return
        # Lightning takes the validation of the checkpoint's step for done; it was interrupted (or killed) first.
        rank_zero_info(f"[lightning_lora] the validation of step {step} did not finish before the interruption: "
                       "running it now.")
        self._revalidating = True
        try:
            run_validation_now(trainer)
        finally:
            self._revalidating = False

    def _validation_recorded(self, step: int) -> bool:
        """Whether ``scores.json`` holds a validation of the step checkpoint of ``step`` (its entry has metrics
        besides the evaluation callbacks' ones)."""
        if not self.dirpath:
            return False
        return any(entry.get("step") == step and any(not k.startswith(EVALUATION_PREFIXES) for k in entry["metrics"])
                   for entry in read_scores(Path(self.dirpath)).values())

    def state_dict(self) -> dict[str, Any]:
        # callback_metrics as ModelCheckpoint reads them for every save (its monitor candidates).
        trainer = self._trainer_for_state
        metrics = _own_metrics(trainer.callback_metrics) if trainer is not None else {}
        return {**super().state_dict(), "validated_step": self._validated_step, "metrics_at_save": metrics}

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._validated_step = trainer.global_step
        super().on_validation_end(trainer, pl_module)
        newest = Path(self.best_model_path) if self.best_model_path else None
        match = STEP_PATTERN.search(newest.name) if newest is not None else None
        if trainer.sanity_checking or not trainer.is_global_zero or match is None or int(match.group(1)) != trainer.global_step:
            return
        metrics = _own_metrics(trainer.callback_metrics)
        if self._revalidating:
            metrics = {**self._metrics_at_save, **metrics}
        self.add_scores(trainer, newest, trainer.global_step, metrics)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After the other callbacks' on_fit_end (Lightning runs checkpoint callbacks last): the final
        # checkpoint's evaluation is in.
        super().on_fit_end(trainer, pl_module)
        if not trainer.is_global_zero or not self.dirpath or not (Path(self.dirpath) / SCORES_FILE).is_file():
            return
        folder = Path(self.dirpath)
        summary = evaluation_summary(folder)
        table = scores_table(folder)
        write_fit_records(folder, summary, table)
        rank_zero_info(f"[lightning_lora] per-checkpoint table ({folder / TABLE_FILE}):\n{table}")
        rank_zero_info(f"[lightning_lora] {summary_line(summary)}")
        if self.keep is not None and not self.keep.ranked(read_scores(folder)):
            rank_zero_warn(f"--checkpoint.monitor {self.keep.monitor}: no checkpoint was scored on it, so none was "
                           f"deleted; the metrics recorded are "
                           f"{sorted({n for e in read_scores(folder).values() for n in e['metrics']})}.")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking and not trainer.fast_dev_run:
            save_step_checkpoint(self, trainer)
        super().on_train_end(trainer, pl_module)
        self._record_early_stop(trainer)

    def _record_early_stop(self, trainer: L.Trainer) -> None:
        """Say why EarlyStopping ended the run, and leave ``early_stop.json`` so a resume does not silently go on."""
        stopper = next((c for c in trainer.early_stopping_callbacks
                        if c.stopping_reason != EarlyStoppingReason.NOT_STOPPED), None)
        if stopper is None or not trainer.is_global_zero or not self.dirpath:
            return
        note = {"step": trainer.global_step, "monitor": stopper.monitor, "reason": stopper.stopping_reason.value,
                "message": stopper.stopping_reason_message}
        write_early_stop(Path(self.dirpath), note)
        rank_zero_info(f"[lightning_lora] stopped early at step {trainer.global_step}: {stopper.stopping_reason_message}")
        for logger in trainer.loggers:
            logger.log_metrics({"early_stop/step": float(trainer.global_step)}, step=trainer.global_step)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        last = self.last_model_path or "no checkpoint"
        if isinstance(exception, DiskFullError):
            return
        saves_before = self.saves
        self._save_on_exception(trainer, exception, last)
        if isinstance(exception, KeyboardInterrupt) and trainer.is_global_zero:
            if self.saves > saves_before:
                outcome = f"saved step {trainer.global_step} as {self.last_model_path}; resume with --ckpt_path last."
            elif self._step_end is not None and self._holds_step(self._step_end[2]):
                outcome = (f"step {self._step_end[2]} was saved already ({self.last_model_path}); "
                           "resume with --ckpt_path last.")
            elif self.last_model_path:
                outcome = f"nothing was saved; {self.last_model_path} is the checkpoint to resume from."
            else:
                outcome = "nothing was saved (no optimizer step had completed)."
            print(f"Interrupted (Ctrl-C) at step {trainer.global_step}: {outcome}", file=sys.stderr, flush=True)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Lightning restores ``last`` and the best-k bookkeeping only when the checkpoint's folder has the same
        absolute path; a run folder moved or copied elsewhere (same run name) is the same run in a new place,
        so its paths are rebased first. Otherwise ``last.ckpt`` would stay at the resumed step and the new
        state would go to ``last-v1.ckpt``, and the next ``--ckpt_path last`` would silently go back."""
        saved = state_dict.get("dirpath")
        if saved and self.dirpath and saved != self.dirpath and Path(saved).name == Path(self.dirpath).name:
            state_dict = _rebased(state_dict, str(saved), str(self.dirpath))
        self._validated_step = state_dict.get("validated_step", -1)
        self._metrics_at_save = dict(state_dict.get("metrics_at_save") or {})
        super().load_state_dict(state_dict)

    def file_exists(self, filepath: Any, trainer: L.Trainer) -> bool:
        """Lightning asks this to version a name already taken (``step000009-v1.ckpt``). A step file of the step being
        saved was written by an interrupted attempt at this same step (killed before ``last`` followed it, so the run
        resumed from an earlier one and trained up to it again, exactly): overwrite it, so the run keeps one file a step."""
        match = STEP_PATTERN.search(Path(str(filepath)).name)
        if match is not None and int(match.group(1)) == trainer.global_step:
            return False
        return super().file_exists(filepath, trainer)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        self.saves += 1  # every checkpoint written in this process, by this callback or another
        if self._loops_for_save is not None:
            checkpoint["loops"] = self._loops_for_save
        super().on_save_checkpoint(trainer, pl_module, checkpoint)

    def _save_on_exception(self, trainer: L.Trainer, exception: BaseException, last: str) -> None:
        """Save the state at the end of the last completed step, as ``last`` (a step file when ``save_last`` is off),
        unless that step is saved already or no such state can be written."""
        if isinstance(exception, FloatingPointError):
            rank_zero_warn(f"Not saving a checkpoint after a non-finite loss; {last} is the last good one.")
            return
        if not self.save_on_exception or trainer.sanity_checking or trainer.fast_dev_run:
            return
        accumulate, done = trainer.accumulate_grad_batches, batches_done(trainer)
        if accumulate > 1 and done % accumulate and done != trainer.num_training_batches:
            rank_zero_warn(f"Not saving a checkpoint: interrupted after micro-batch {done % accumulate} of a "
                           f"{accumulate}-batch gradient accumulation, whose gradients a checkpoint cannot hold; "
                           f"{last} stays the one to resume from.")
            return
        if self._step_end is None:  # no step completed in this process: the checkpoint it started from stays last
            return
        epoch, at, step, loops = self._step_end
        here = (trainer.current_epoch, done)
        same = here == (epoch, at) or (here == (epoch + 1, 0) and at == trainer.num_training_batches)
        if not same or trainer.global_step != step:
            # Between an optimizer step and the end of its batch (the scheduler or the counters not yet updated).
            rank_zero_warn("Not saving a checkpoint: interrupted between an optimizer step and the end of its batch, "
                           f"a state no checkpoint holds exactly; {last} stays the one to resume from.")
            return
        log_batch_cut_short(trainer)  # its train loss, the resumed run starts after it
        if self._holds_step(step):
            return  # the periodic save of this step (written before its validation and evaluations)
        # Inside the next step, in a validation or an evaluation: the model, optimizer, scheduler and random states
        # are those of the step's end already; the loop counters are not, so write the ones of that moment.
        self._loops_for_save = loops
        try:
            every = every_n_train_steps(self)
            if every and step % every == 0 and save_step_checkpoint(self, trainer):
                pass  # the periodic save of this step, interrupted before its file was written: step file and last
            elif self.save_last:
                save_last_checkpoint(self, trainer)
            else:
                super().on_exception(trainer, trainer.lightning_module, exception)
        finally:
            self._loops_for_save = None

    def _holds_step(self, step: int) -> bool:
        """Whether this process saved ``step`` and ``last`` holds it (a save interrupted while writing ``last`` left
        the previous one)."""
        if last_saved_step(self) != step:
            return False
        if not self.save_last or not self.last_model_path:
            return True
        path = Path(self.last_model_path)
        try:
            return path.is_file() and load_checkpoint_file(path).get("global_step") == step
        except UserError:  # unreadable
            return False


def _own_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The scalar metrics of ``trainer.callback_metrics`` a validation records, without the evaluation callbacks'."""
    return {k: float(v) for k, v in metrics.items()
            if getattr(v, "numel", lambda: 1)() == 1 and not k.startswith(EVALUATION_PREFIXES)}


def _rebased(state: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A ModelCheckpoint state with every path under ``old`` moved under ``new``."""
    def move(path: Any) -> Any:
        return new + path[len(old):] if isinstance(path, str) and path.startswith(old + os.sep) else path

    out = {key: move(value) for key, value in state.items()}
    out["dirpath"] = new
    if isinstance(state.get("best_k_models"), dict):
        out["best_k_models"] = {move(path): score for path, score in state["best_k_models"].items()}
    return out

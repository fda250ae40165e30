"""The mechanics shared by callbacks that evaluate every checkpoint as it is saved (the code benchmark,
lm-eval tasks): when to run, on which rank, and where the metrics go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lightning_lora.callbacks.checkpoint import RunCheckpoint
from lightning_lora.callbacks.process_groups import patient_group
from lightning_lora.checkpoints.reading import load_checkpoint_file
from lightning_lora.checkpoints.run_folder import read_scores
from lightning_lora.lightning_internals import publish_metrics


class EvaluateOnSave(L.Callback):
    """Call :meth:`evaluate` on rank zero with each step checkpoint just saved, at the next hook boundary
    (the validation of that step, else the next batch, else the end of fit).

    The other ranks wait at a barrier of their own (a gloo group with ``wait_timeout_s``), so an evaluation
    longer than the strategy's collective timeout does not kill them; then the metrics are broadcast and put in
    ``trainer.callback_metrics`` on every rank, where Lightning's ``EarlyStopping`` reads them.

    An evaluation may also finish elsewhere (another process): with :attr:`polls`, rank zero asks :meth:`collect`
    for what finished at every hook boundary every rank reaches together (a validation's start, the end of fit, the
    batch after a save; every batch when there is one process), and at the end of fit once more with ``final``.

    Args:
        wait_timeout_s: how long the other ranks wait for one evaluation (multi-process runs).
    """

    #: The key this evaluation's seconds are recorded under in ``scores.json`` (``benchmark``): a resumed run
    #: re-evaluates its checkpoint unless that record is there. None: always re-evaluate it.
    kind: str | None = None

    def __init__(self, wait_timeout_s: float = 24 * 3600.0) -> None:
        self.wait_timeout_s = wait_timeout_s
        self._pending_step: int | None = None
        self._wait_group: Any = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            self._wait_group = patient_group(self.wait_timeout_s)  # collective: every rank calls setup

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, step: int, checkpoint: Path) -> dict[str, float]:
        """Evaluate the current weights (those of ``checkpoint``); return the metrics to log."""
        raise NotImplementedError

    @property
    def polls(self) -> bool:
        """Whether evaluations finish outside :meth:`evaluate` (in another process), for :meth:`collect` to gather."""
        return False

    def collect(self, trainer: L.Trainer, final: bool) -> dict[str, float]:
        """Rank zero: record the evaluations finished elsewhere since the last call and return their metrics;
        ``final`` (end of fit): also settle the ones still running."""
        return {}

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        # The file is written after this hook returns; score it at the next hook boundary.
        self._pending_step = trainer.global_step

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # A resumed run: the checkpoint it starts from was saved, then evaluated at the next hook boundary; an
        # interruption (or kill) there left it unevaluated. Evaluate it where the uninterrupted run did.
        step = trainer.global_step
        if trainer.ckpt_path is None or step == 0 or self._pending_step is not None:
            return
        checkpoint = _step_file(trainer, step)
        if checkpoint is not None and not self.evaluated(checkpoint):
            rank_zero_info(f"[lightning_lora] {checkpoint.name} was saved but not evaluated before the interruption: "
                           "evaluating it now.")
            self._pending_step = step

    def evaluated(self, checkpoint: Path) -> bool:
        """Whether ``checkpoint``'s evaluation is recorded in ``scores.json`` (under :attr:`kind`)."""
        if self.kind is None:
            return False
        entry = read_scores(checkpoint.parent).get(checkpoint.name, {})
        return self.kind in entry.get("seconds", {})

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        self._run_pending(trainer, pl_module, together=False)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Before the validation of the step just saved, so EarlyStopping (at validation end) sees its result.
        if not trainer.sanity_checking:
            self._run_pending(trainer, pl_module, together=True)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After on_train_end, where the final checkpoint is written.
        self._run_pending(trainer, pl_module, together=True, final=True)

    def _run_pending(self, trainer: L.Trainer, pl_module: L.LightningModule, together: bool, final: bool = False) -> None:
        """Evaluate the checkpoint saved last, if any, and gather what finished elsewhere; ``together``: every rank
        reaches this boundary (so a collective may run here with nothing saved)."""
        step, self._pending_step = self._pending_step, None
        if step is None and not (self.polls and (together or trainer.world_size == 1)):
            return
        checkpoint = _saved_checkpoint(trainer, step) if step is not None else None
        metrics: dict[str, float] = {}
        if trainer.is_global_zero:
            if checkpoint is not None:
                metrics = self.evaluate(trainer, pl_module, step, checkpoint)
            if self.polls:
                metrics = {**metrics, **self.collect(trainer, final)}
        if step is not None or final:  # rank zero may have been busy for long: the others wait patiently
            if self._wait_group is not None:
                torch.distributed.barrier(group=self._wait_group)
            else:
                trainer.strategy.barrier("benchmark")
        publish_metrics(trainer, trainer.strategy.broadcast(metrics, src=0))

def run_checkpoint(trainer: L.Trainer) -> RunCheckpoint | None:
    """The run's RunCheckpoint (which records scores and keeps the best), if any."""
    return next((c for c in trainer.checkpoint_callbacks if isinstance(c, RunCheckpoint)), None)


def _saved_checkpoint(trainer: L.Trainer, step: int) -> Path | None:
    """The step checkpoint ModelCheckpoint just wrote (not ``last``)."""
    path = _step_file(trainer, step)
    if path is None:
        rank_zero_warn(f"BenchmarkCallback: no checkpoint file of step {step} found; not benchmarking it.")
    return path


def _step_file(trainer: L.Trainer, step: int) -> Path | None:
    """The step checkpoint of ``step`` (not ``last``), if ModelCheckpoint wrote one: without a monitor, its
    ``best_model_path`` is the newest top-k file (restored on a resume)."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.best_model_path:
            path = Path(callback.best_model_path)
            if path.is_file() and path.name != "last.ckpt" and load_checkpoint_file(path).get("global_step") == step:
                return path
    return None

"""Every use of Lightning's private API, each behind a named function or class.

Checked on Lightning 2.6.6 (``setup.cfg`` keeps ``lightning`` below 2.7 until these are checked again).
When Lightning changes one of them, this is the only file to read: each entry says what it relies on.
"""

from __future__ import annotations

import copy
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.seed import _collect_rng_states, _set_rng_states
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.strategies import FSDPStrategy

CHECKED_ON = "2.6.6"


class ConfigOverCheckpointCLI(LightningCLI):
    """LightningCLI that leaves the config alone when ``--ckpt_path`` is given.

    Relies on ``LightningCLI._parse_ckpt_path``, which would overwrite the model config with the
    checkpoint's hyperparameters, silently hiding a mismatch. Here the config stays authoritative;
    the module refuses a mismatched checkpoint by name.
    """

    def _parse_ckpt_path(self) -> None:
        return


class WrapPolicyFSDPStrategy(FSDPStrategy):
    """FSDPStrategy with a public hook, :meth:`before_wrap`, called with the model just before it is wrapped.

    Relies on ``FSDPStrategy._setup_model(model)`` being where the model is wrapped, with ``self.kwargs``
    (``auto_wrap_policy`` included) read there.
    """

    def before_wrap(self, model: torch.nn.Module) -> None:
        """Called once with the unwrapped model; subclasses set ``self.kwargs`` here."""

    def _setup_model(self, model: torch.nn.Module) -> torch.nn.Module:
        self.before_wrap(model)
        return super()._setup_model(model)


def batches_done(trainer: L.Trainer) -> int:
    """Training batches of the current epoch processed so far (``fit_loop.epoch_loop.batch_progress``)."""
    return trainer.fit_loop.epoch_loop.batch_progress.current.processed


def loops_state(trainer: L.Trainer) -> dict[str, Any]:
    """A copy of the loops' state as a checkpoint written now would hold it
    (``trainer._checkpoint_connector._get_loops_state_dict``)."""
    return copy.deepcopy(trainer._checkpoint_connector._get_loops_state_dict())


def last_saved_step(callback: ModelCheckpoint) -> int:
    """The global step a ModelCheckpoint last wrote a file at in this process (``_last_global_step_saved``; 0 before
    any save)."""
    return callback._last_global_step_saved


def log_batch_cut_short(trainer: L.Trainer) -> bool:
    """When a training batch is processed but an exception cut its ``on_train_batch_end`` hooks short (Ctrl-C in a
    periodic save, say), send what it logged to the loggers as the loop would have after those hooks
    (``_logger_connector.on_batch_end`` and ``update_train_step_metrics``, while ``batch_progress.current.processed``
    is ahead of ``completed``); return whether it did. The resumed run starts after that batch, so nothing else
    would log it."""
    progress = trainer.fit_loop.epoch_loop.batch_progress.current
    if not trainer.training or progress.processed <= progress.completed or progress.processed < progress.started:
        return False
    trainer._logger_connector.on_batch_end()
    trainer._logger_connector.update_train_step_metrics()
    return True


def every_n_train_steps(callback: ModelCheckpoint) -> int:
    """How often a ModelCheckpoint saves a step file, in optimizer steps (``_every_n_train_steps``; 0: not by steps)."""
    return callback._every_n_train_steps or 0


def save_last_checkpoint(callback: ModelCheckpoint, trainer: L.Trainer) -> None:
    """Write ``last`` only, no step file (``ModelCheckpoint._save_last_checkpoint`` and ``_monitor_candidates``)."""
    callback._save_last_checkpoint(trainer, callback._monitor_candidates(trainer))


def validation_due_after_last_batch(trainer: L.Trainer) -> bool:
    """Whether the fit loop validates after the training batch it last completed: on a resume, the batch the
    checkpoint was saved at the end of. Lightning skips that validation on a resume (it fast-forwards the validation
    loop's counters), taking it for done. Relies on ``fit_loop.epoch_loop._should_check_val_fx(fit_loop._data_fetcher)``
    and the restored batch counters; call it from ``on_train_start``."""
    loop = trainer.fit_loop
    return loop._data_fetcher is not None and bool(loop.epoch_loop._should_check_val_fx(loop._data_fetcher))


def run_validation_now(trainer: L.Trainer) -> None:
    """Run the validation loop now, as the training epoch loop does after a batch (``on_advance_end``: the
    ``validating`` / ``training`` switch around ``epoch_loop.val_loop.run()``, ``_logger_connector._first_loop_iter``
    kept). Its metrics are logged at the current logging step (``epoch_loop._batches_that_stepped``), which in
    ``on_train_start`` of a resumed run is the one the validation after the checkpoint's batch logged at."""
    epoch_loop = trainer.fit_loop.epoch_loop
    first_loop_iter = trainer._logger_connector._first_loop_iter
    epoch_loop.val_loop.restarting = False  # a whole validation from its first batch, not a restored partial one
    trainer.validating = True
    try:
        epoch_loop.val_loop.run()
    finally:
        trainer.training = True
        trainer._logger_connector._first_loop_iter = first_loop_iter


def request_sigterm_stop(trainer: L.Trainer) -> None:
    """Make Lightning stop after the current batch as on SIGTERM: it raises SIGTERMException then
    (``trainer._signal_connector.received_sigterm``)."""
    trainer._signal_connector.received_sigterm = True


def has_trainer(module: L.LightningModule) -> bool:
    """Whether a LightningModule is attached to a trainer (``module.trainer`` raises when it is not;
    ``module._trainer`` is None)."""
    return module._trainer is not None


def save_step_checkpoint(callback: ModelCheckpoint, trainer: L.Trainer) -> bool:
    """Save a step checkpoint and ``last`` now, unless this step is saved already; return whether it saved.

    Relies on ``ModelCheckpoint._last_global_step_saved``, ``_monitor_candidates``, ``_save_checkpoint``
    and ``_save_last_checkpoint``. Without a monitor, "best" is the newest file, as Lightning keeps it.
    """
    if callback._last_global_step_saved == trainer.global_step:
        return False
    candidates = callback._monitor_candidates(trainer)
    filepath = callback.format_checkpoint_name(candidates)
    callback._save_checkpoint(trainer, filepath)
    if callback.monitor is None:
        callback.best_model_path = filepath
    callback._save_last_checkpoint(trainer, candidates)
    return True


def collect_rng_states(include_cuda: bool) -> dict[str, Any]:
    """The Python, NumPy and torch (and CUDA) random states (``lightning.fabric.utilities.seed._collect_rng_states``)."""
    return _collect_rng_states(include_cuda=include_cuda)


def set_rng_states(states: dict[str, Any]) -> None:
    """Put back states from :func:`collect_rng_states` (``lightning.fabric.utilities.seed._set_rng_states``)."""
    _set_rng_states(states)


def publish_metrics(trainer: L.Trainer, metrics: dict[str, float]) -> None:
    """Put metrics measured outside ``self.log`` (a benchmark run from a callback hook) into
    ``trainer.callback_metrics``, where EarlyStopping and ModelCheckpoint read them.

    Relies on ``trainer.callback_metrics`` returning the logger connector's own dict (``_callback_metrics``),
    which Lightning updates but clears only when a new stage starts.
    """
    trainer.callback_metrics.update({k: torch.tensor(float(v)) for k, v in metrics.items()})


def progress_bar() -> Any:
    """Lightning's progress bar (Rich when installed, as Lightning chooses), on stderr with every other bar,
    without ``v_num`` (the TensorBoard version, not a metric), and without a negative epoch count on runs
    bounded by ``max_steps`` (``Epoch 9/-2``: Lightning prints ``max_epochs - 1`` with ``max_epochs=-1``).

    Relies on ``RichProgressBar._get_train_description(current_epoch)``, the description it sets per epoch.
    """
    from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar
    from lightning.pytorch.utilities.imports import _RICH_AVAILABLE

    class _WithoutVersion:
        def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
            metrics = super().get_metrics(trainer, pl_module)  # type: ignore[misc]
            metrics.pop("v_num", None)
            return metrics

    class StepRichProgressBar(_WithoutVersion, RichProgressBar):
        def _get_train_description(self, current_epoch: int) -> str:
            max_epochs = self.trainer.max_epochs
            text = f"Epoch {current_epoch}" + (f"/{max_epochs - 1}" if max_epochs and max_epochs > 0 else "")
            return f"{text:{len(self.validation_description)}}"

    class QuietTQDMProgressBar(_WithoutVersion, TQDMProgressBar):
        pass

    return StepRichProgressBar(console_kwargs={"stderr": True}) if _RICH_AVAILABLE else QuietTQDMProgressBar()

"""Every use of Lightning's private API, each behind a named function or class.

Checked on Lightning 2.6.6 (``setup.cfg`` keeps ``lightning`` below 2.7 until these are checked again).
When Lightning changes one of them, this is the only file to read: each entry says what it relies on.
"""

from __future__ import annotations

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


def batch_in_progress(trainer: L.Trainer) -> bool:
    """Whether a training batch has started and not finished (an interruption inside a step)."""
    progress = trainer.fit_loop.epoch_loop.batch_progress.current
    return progress.started > progress.processed


def uncount_interrupted_step(trainer: L.Trainer) -> None:
    """Take back the step count of a batch interrupted inside its step (``epoch_loop._batches_that_stepped``,
    the logging step), so a checkpoint saved then resumes logging at the right step."""
    trainer.fit_loop.epoch_loop._batches_that_stepped -= 1


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

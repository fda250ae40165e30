"""Run the code benchmark on every checkpoint as it is saved; log pass@k and keep ``best`` current."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lightning_lora.benchmark.run_files import headline, load_problem_set, score_and_write, update_best
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.callbacks.checkpoint import RunCheckpoint
from lightning_lora.checkpoints import load_checkpoint_file
from lightning_lora.errors import UserError
from lightning_lora.lightning_internals import publish_metrics


class BenchmarkCallback(L.Callback):
    """After each checkpoint save, generate programs from the current weights and run them in the sandbox.

    Rank zero does the work; the other ranks wait at a barrier of their own (a gloo group with
    ``wait_timeout_s``), so a benchmark longer than the strategy's collective timeout (30 minutes
    by default) does not kill them. Results go next to the checkpoint
    (``step000020.results.json`` + ``.samples.jsonl``), ``benchmark/pass@k`` to the loggers at that
    step, and ``best`` / ``best.json`` in the checkpoint folder name the highest pass@1 so far (or, with
    ``--checkpoint.monitor``, the best by that metric: see :class:`~lightning_lora.callbacks.checkpoint.RunCheckpoint`).
    The metrics also go to ``trainer.callback_metrics`` on every rank, so Lightning's ``EarlyStopping`` can
    monitor ``benchmark/pass@1`` (checked at the validation that follows the save).

    Args:
        settings: the problems and how to generate and score
            (:class:`~lightning_lora.benchmark.settings.BenchmarkSettings`); ``settings.problems`` is
            required. An unset ``system_prompt`` is the data module's.
        wait_timeout_s: how long the other ranks wait for one benchmark (multi-process runs).
    """

    def __init__(self, settings: BenchmarkSettings, wait_timeout_s: float = 24 * 3600.0) -> None:
        if settings.problems is None:
            raise UserError("BenchmarkCallback: settings.problems is required (e.g. synthetic:code, humaneval).")
        self.settings = settings
        self.wait_timeout_s = wait_timeout_s
        self._problems: Any = None
        self._pending_step: int | None = None
        self._wait_group: Any = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            self._wait_group = patient_group(self.wait_timeout_s)  # collective: every rank calls setup
        if stage == "fit" and trainer.is_global_zero:
            self._problems = load_problem_set(self.settings)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        # The file is written after this hook returns; score it at the next hook boundary.
        self._pending_step = trainer.global_step

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        self._run_pending(trainer, pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Before the validation of the step just saved, so EarlyStopping (at validation end) sees its result.
        if not trainer.sanity_checking:
            self._run_pending(trainer, pl_module)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After on_train_end, where the final checkpoint is written.
        self._run_pending(trainer, pl_module)

    def _run_pending(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._pending_step is None:
            return
        step, self._pending_step = self._pending_step, None
        checkpoint = _saved_checkpoint(trainer, step)
        metrics: dict[str, float] = {}
        if trainer.is_global_zero and checkpoint is not None:
            metrics = self._score(trainer, pl_module, step, checkpoint)
        if self._wait_group is not None:
            torch.distributed.barrier(group=self._wait_group)
        else:
            trainer.strategy.barrier("benchmark")
        publish_metrics(trainer, trainer.strategy.broadcast(metrics, src=0))

    def _score(self, trainer: L.Trainer, pl_module: L.LightningModule, step: int, checkpoint: Path) -> dict[str, float]:
        settings = self.settings
        if settings.system_prompt is None:
            settings = settings.replace(system_prompt=getattr(trainer.datamodule, "system_prompt", None))
        start = time.perf_counter()
        results = score_and_write(pl_module.model, pl_module.tokenizer, self._problems, settings,
                                  checkpoint.with_suffix(""), extra={"checkpoint": checkpoint.name, "step": step})
        seconds = time.perf_counter() - start
        pass1, passed, total = headline(results)
        metrics = {f"benchmark/{name}": value for name, value in results["summary"]["pass@k"].items() if value is not None}
        metrics["benchmark/problems_passed"] = passed
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
        keeper = next((c for c in trainer.checkpoint_callbacks if isinstance(c, RunCheckpoint)), None)
        is_best = keeper.add_scores(trainer, checkpoint, step, metrics, {"benchmark": seconds}) if keeper else False
        if keeper is None or keeper.keep is None:
            is_best = update_best(checkpoint.parent, checkpoint, step, results)
        rank_zero_info(f"[lightning_lora] benchmark at step {step}: pass@1 {pass1:.3f} ({passed}/{total}) "
                       f"in {seconds:.1f}s" + (" - new best" if is_best else ""))
        return metrics


def patient_group(timeout_s: float) -> Any:
    """A gloo process group over all ranks with its own timeout, for ranks that wait while rank zero
    works alone; None outside a multi-process run. Every rank must call it (it is a collective)."""
    dist = torch.distributed
    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return None
    return dist.new_group(backend="gloo", timeout=timedelta(seconds=timeout_s))


def _saved_checkpoint(trainer: L.Trainer, step: int) -> Path | None:
    """The step checkpoint ModelCheckpoint just wrote (not ``last``): without a monitor, its ``best_model_path``
    is the newest top-k file."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.best_model_path:
            path = Path(callback.best_model_path)
            if path.is_file() and path.name != "last.ckpt" and load_checkpoint_file(path).get("global_step") == step:
                return path
    rank_zero_warn(f"BenchmarkCallback: no checkpoint file of step {step} found; not benchmarking it.")
    return None

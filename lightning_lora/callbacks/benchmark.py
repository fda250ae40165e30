"""Run the code benchmark on every checkpoint as it is saved; log pass@k and keep ``best`` current."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from lightning_lora.benchmark.run_results import headline, load_problem_set, score_and_write
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.callbacks.on_save import EvaluateOnSave, run_checkpoint
from lightning_lora.checkpoints.run_folder import update_best
from lightning_lora.errors import UserError

__all__ = ["BenchmarkCallback"]


class BenchmarkCallback(EvaluateOnSave):
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

    kind = "benchmark"

    def __init__(self, settings: BenchmarkSettings, wait_timeout_s: float = 24 * 3600.0) -> None:
        if settings.problems is None:
            raise UserError("BenchmarkCallback: settings.problems is required (e.g. synthetic:code, humaneval).")
        super().__init__(wait_timeout_s)
        self.settings = settings
        self._problems: Any = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if stage == "fit" and trainer.is_global_zero:
            self._problems = load_problem_set(self.settings)

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, step: int, checkpoint: Path) -> dict[str, float]:
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
        if results["summary"].get("truncated") is not None:  # replies the token budget cut, whatever they scored
            metrics["benchmark/truncated"] = results["summary"]["truncated"]["samples"]
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
        keeper = run_checkpoint(trainer)
        is_best = keeper.add_scores(trainer, checkpoint, step, metrics, {"benchmark": seconds}) if keeper else False
        if keeper is None or keeper.keep is None:
            is_best = update_best(checkpoint.parent, checkpoint, step, results)
        cut = metrics.get("benchmark/truncated")
        rank_zero_info(f"[lightning_lora] benchmark at step {step}: pass@1 {pass1:.3f} ({passed}/{total}) "
                       + (f"{cut} cut at the token budget " if cut else "")
                       + f"in {seconds:.1f}s" + (" - new best" if is_best else ""))
        return metrics


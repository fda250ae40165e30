"""Run the code benchmark on every checkpoint as it is saved; log pass@k and keep ``best`` current."""

from __future__ import annotations

import contextlib
import json
import shlex
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lightning_lora.benchmark.run_results import headline, load_problem_set, score_and_write
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.callbacks.background import BackgroundScorer, finished_results, results_path, results_seconds
from lightning_lora.callbacks.checkpoint import RunCheckpoint
from lightning_lora.callbacks.on_save import EvaluateOnSave, run_checkpoint
from lightning_lora.checkpoints.reading import checkpoints_in
from lightning_lora.checkpoints.run_folder import update_best
from lightning_lora.errors import UserError

__all__ = ["BASE_RESULTS", "BenchmarkCallback", "benchmark_metrics"]

#: The base model's results in a run's checkpoint folder (``benchmark_base``).
BASE_RESULTS = "base.results.json"


def benchmark_metrics(results: dict[str, Any]) -> dict[str, float]:
    """The metrics a benchmark's results are logged and recorded as: ``benchmark/pass@k``, ``problems_passed`` and
    ``truncated`` (the replies the token budget cut, whatever they scored)."""
    summary = results["summary"]
    metrics = {f"benchmark/{name}": value for name, value in summary["pass@k"].items() if value is not None}
    metrics["benchmark/problems_passed"] = summary["problems_passed"]
    if summary.get("truncated") is not None:
        metrics["benchmark/truncated"] = summary["truncated"]["samples"]
    return metrics


class BenchmarkCallback(EvaluateOnSave):
    """After each checkpoint save, generate programs from its weights and run them in the sandbox.

    Results go next to the checkpoint (``step000020.results.json`` + ``.samples.jsonl``), ``benchmark/pass@k`` to
    the loggers at that step, and ``best`` / ``best.json`` in the checkpoint folder name the highest pass@1 so far
    (or, with ``--checkpoint.monitor``, the best by that metric: see
    :class:`~lightning_lora.callbacks.checkpoint.RunCheckpoint`).

    In process (the default), rank zero benchmarks the current weights while training waits; the other ranks wait at
    a barrier of their own (a gloo group with ``wait_timeout_s``), so a benchmark longer than the strategy's
    collective timeout (30 minutes by default) does not kill them. The metrics also go to
    ``trainer.callback_metrics`` on every rank, so Lightning's ``EarlyStopping`` can monitor ``benchmark/pass@1``
    (checked at the validation that follows the save).

    In the background (``background: true``), rank zero hands each saved checkpoint to one worker process
    (:class:`~lightning_lora.callbacks.background.BackgroundScorer`) and training goes on. The worker builds the
    run's model once, loads each checkpoint into it as ``benchmark --checkpoints_dir`` does and writes the same two
    files; checkpoints wait their turn, every one is scored. A score is recorded when it arrives (looked for at every
    batch; under several processes at each validation and at the end of fit): its metrics go to the loggers at its
    checkpoint's step, ``scores.json``, ``best`` and keep-best as in process (a checkpoint waiting for its score is
    not deleted). The end of fit waits for the scores still coming (``wait_at_end``), or stops the worker and prints
    the command that scores and records them. A fit resumed after a kill records the scores the worker finished and
    queues the checkpoints it did not. ``EarlyStopping`` on ``benchmark/*`` needs the in-process benchmark.

    Args:
        settings: the problems and how to generate and score
            (:class:`~lightning_lora.benchmark.settings.BenchmarkSettings`); ``settings.problems`` is
            required. An unset ``system_prompt`` is the data module's.
        wait_timeout_s: how long the other ranks wait for one benchmark (multi-process runs), or for the background
            ones at the end of fit.
        background: benchmark each checkpoint in a worker process while training goes on, instead of in this one
            while it waits.
        background_threads: torch threads of the worker (``OMP_NUM_THREADS`` too). Training keeps its own: on the
            CPU the two share the cores.
        background_device: where the worker runs the model (``cpu``, ``cuda:1``); unset: rank zero's device (a GPU
            is then shared with training).
        wait_at_end: with ``background``, the end of fit waits for the scores still coming; false: it stops the
            worker and prints the ``benchmark`` command that scores and records the checkpoints left.
        benchmark_base: also score the model before its first training step, with the adapter switched off (the
            base model exactly): written as ``base.results.json`` / ``base.samples.jsonl`` in the run's checkpoint
            folder and logged at step 0, once per run (a resumed run that has them does not score it again). It is
            a baseline, not a checkpoint: ``best`` and keep-best never pick it.
    """

    kind = "benchmark"

    def __init__(self, settings: BenchmarkSettings, wait_timeout_s: float = 24 * 3600.0, background: bool = False,
                 background_threads: int = 1, background_device: str | None = None, wait_at_end: bool = True,
                 benchmark_base: bool = False) -> None:
        if settings.problems is None:
            raise UserError("BenchmarkCallback: settings.problems is required (e.g. synthetic:code, humaneval).")
        if background_threads < 1:
            raise UserError(f"BenchmarkCallback: background_threads must be at least 1, got {background_threads}.")
        if background_device is not None:
            try:
                torch.device(background_device)
            except RuntimeError as err:
                raise UserError(f"BenchmarkCallback: background_device {background_device!r} is not a device "
                                "(cpu, cuda, cuda:1, ...).") from err
        if not background and (background_device is not None or not wait_at_end):
            option = "background_device" if background_device is not None else "wait_at_end: false"
            raise UserError(f"BenchmarkCallback: {option} is for background: true (an in-process benchmark "
                            "runs on training's device and is never left pending).")
        super().__init__(wait_timeout_s)
        self.settings = settings
        self.background = background
        self.background_threads = background_threads
        self.background_device = background_device
        self.wait_at_end = wait_at_end
        self.benchmark_base = benchmark_base
        self._problems: Any = None
        self._scorer: BackgroundScorer | None = None
        self._found: dict[str, float] = {}  # metrics of scores recorded outside a hook boundary, not yet published
        self._said_behind = False
        self._unscored: list[Path] = []  # checkpoints the worker could not score

    @property
    def polls(self) -> bool:
        return self.background

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if stage != "fit":
            return
        if self.background:
            _check_background_fits(trainer)
        if trainer.is_global_zero:
            self._problems = load_problem_set(self.settings)  # a bad problem spec fails here, before training

    def _worker_device(self, trainer: L.Trainer) -> str:
        return self.background_device or str(trainer.strategy.root_device)

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, step: int, checkpoint: Path) -> dict[str, float]:
        if self.background:
            return self._hand_over(trainer, step, checkpoint)
        start = time.perf_counter()
        results = score_and_write(pl_module.model, pl_module.tokenizer, self._problems, self._run_settings(trainer),
                                  checkpoint.with_suffix(""), extra={"checkpoint": checkpoint.name, "step": step})
        return self._record(trainer, checkpoint, step, results, time.perf_counter() - start)

    def _run_settings(self, trainer: L.Trainer) -> BenchmarkSettings:
        if self.settings.system_prompt is not None:
            return self.settings
        return self.settings.replace(system_prompt=getattr(trainer.datamodule, "system_prompt", None))

    def _record(self, trainer: L.Trainer, checkpoint: Path, step: int, results: dict[str, Any], seconds: float,
                how: str = "") -> dict[str, float]:
        """Log ``results`` at ``step``, record them in ``scores.json`` and keep ``best`` (and keep-best) current."""
        pass1, passed, total = headline(results)
        metrics = benchmark_metrics(results)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
        keeper = run_checkpoint(trainer)
        is_best = keeper.add_scores(trainer, checkpoint, step, metrics, {"benchmark": seconds}) if keeper else False
        if keeper is None or keeper.keep is None:
            is_best = update_best(checkpoint.parent, checkpoint, step, results)
        cut = metrics.get("benchmark/truncated")
        rank_zero_info(f"[lightning_lora] benchmark at step {step}{how}: pass@1 {pass1:.3f} ({passed}/{total}) "
                       + (f"{cut} cut at the token budget " if cut else "")
                       + f"in {seconds:.1f}s" + (" - new best" if is_best else ""))
        return metrics

    def _score_base(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The base model's score (adapter off), once per run, logged at step 0; the other ranks wait for it."""
        folder = _checkpoint_folder(trainer)
        model = pl_module.model
        if not hasattr(model, "disable_adapter") and trainer.global_step > 0:
            rank_zero_warn("BenchmarkCallback: benchmark_base needs an adapter to switch off once training has "
                           f"started (this run resumes at step {trainer.global_step} without one): base not scored.")
            return
        if trainer.is_global_zero and folder is not None and not (folder / BASE_RESULTS).is_file():
            folder.mkdir(parents=True, exist_ok=True)
            switch = model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()
            start = time.perf_counter()
            with switch:
                results = score_and_write(model, pl_module.tokenizer, self._problems, self._run_settings(trainer),
                                          folder / "base", extra={"checkpoint": "base (adapter off)", "step": 0})
            metrics = benchmark_metrics(results)
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=0)
            pass1, passed, total = headline(results)
            rank_zero_info(f"[lightning_lora] benchmark of the base model (adapter off): pass@1 {pass1:.3f} "
                           f"({passed}/{total}) in {time.perf_counter() - start:.1f}s")
        trainer.strategy.barrier("lightning_lora_base_benchmark")

    # The background benchmark (rank zero only, but for the hooks)

    def _hand_over(self, trainer: L.Trainer, step: int, checkpoint: Path) -> dict[str, float]:
        """Record the score a worker finished before an interruption, else queue ``checkpoint`` for the worker."""
        results = finished_results(checkpoint, step)
        if results is not None:
            return self._record(trainer, checkpoint, step, results, results_seconds(results),
                                " (scored in the background before the interruption)")
        if self._scorer is None:
            self._scorer = BackgroundScorer(checkpoint.parent, self._run_settings(trainer), self.background_threads,
                                            self._worker_device(trainer), rank_zero_warn)
        self._scorer.submit(checkpoint, step)
        _hold(trainer, checkpoint.name, True)
        if len(self._scorer.waiting) >= 3 and not self._said_behind:
            self._said_behind = True
            rank_zero_info(f"[lightning_lora] {len(self._scorer.waiting)} checkpoints wait for the background benchmark "
                           "(each will be scored; it falls behind when a benchmark takes longer than the steps between "
                           "two saves)")
        return {}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.benchmark_base:
            self._score_base(trainer, pl_module)
        super().on_train_start(trainer, pl_module)  # the checkpoint resumed from, if its benchmark never finished
        if not self.background or trainer.ckpt_path is None or not trainer.is_global_zero:
            return
        folder = _checkpoint_folder(trainer)
        # A kill loses the queue: the checkpoints saved before it without a recorded score, scored or not.
        for step, path in checkpoints_in(folder) if folder is not None else []:
            if step <= trainer.global_step and step != self._pending_step and not self.evaluated(path):
                self._found.update(self._hand_over(trainer, step, path))

    def collect(self, trainer: L.Trainer, final: bool) -> dict[str, float]:
        metrics, self._found = self._found, {}
        scorer = self._scorer
        if scorer is None:
            return metrics
        wait = final and self.wait_at_end
        if wait and scorer.waiting:
            rank_zero_info(f"[lightning_lora] waiting for the background benchmark of "
                           f"{', '.join(path.name for path, _ in scorer.waiting)}")
        for arrival in scorer.arrived(wait=wait):
            _hold(trainer, arrival.checkpoint.name, False)
            if arrival.error is not None:
                rank_zero_warn(f"BenchmarkCallback: {arrival.checkpoint.name} was not scored: {arrival.error}")
                self._unscored.append(arrival.checkpoint)
                continue
            results = json.loads(results_path(arrival.checkpoint).read_text())
            seconds = arrival.seconds if arrival.seconds is not None else results_seconds(results)
            metrics.update(self._record(trainer, arrival.checkpoint, arrival.step, results, seconds,
                                        " (scored in the background)"))
        if final:
            self._finish(trainer)
        return metrics

    def _finish(self, trainer: L.Trainer) -> None:
        """Stop the worker; say how to score what it left (``wait_at_end: false``, or a worker that gave up)."""
        scorer, self._scorer = self._scorer, None
        assert scorer is not None
        left = self._unscored + [path for path, _ in scorer.waiting]
        self._unscored = []
        scorer.stop()
        if not left:
            return
        command = ["python", "-m", "lightning_lora", "benchmark", "--checkpoints_dir", _shown(left[0].parent), "--unscored"]
        log_dir = next((lg.log_dir for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)
        if log_dir is not None:
            command += ["--log_dir", _shown(Path(log_dir))]
        rank_zero_info(f"[lightning_lora] not benchmarked yet: {', '.join(p.name for p in left)}; to score them and "
                       f"record their scores (scores.json, best, TensorBoard):\n  {shlex.join(command)}")

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        # What the worker was scoring is lost (a resume scores it); what it finished is on disk, recorded on resume.
        self._stop()

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._stop()

    def _stop(self) -> None:
        scorer, self._scorer = self._scorer, None
        if scorer is not None:
            scorer.stop()


def _hold(trainer: L.Trainer, name: str, waiting: bool) -> None:
    """Tell keep-best that ``name`` waits for its score (it is not deleted meanwhile), or no longer does."""
    keeper = run_checkpoint(trainer)
    if keeper is not None:
        keeper.awaiting = keeper.awaiting | {name} if waiting else keeper.awaiting - {name}


def _checkpoint_folder(trainer: L.Trainer) -> Path | None:
    keeper = run_checkpoint(trainer) or trainer.checkpoint_callback
    return Path(keeper.dirpath) if keeper is not None and keeper.dirpath else None


def _check_background_fits(trainer: L.Trainer) -> None:
    """Refuse what a score arriving later cannot serve: EarlyStopping on it, and files deleted before they are scored."""
    for stopper in trainer.early_stopping_callbacks:
        if stopper.monitor.startswith("benchmark/"):
            raise UserError(f"BenchmarkCallback: background: true cannot feed EarlyStopping (monitor {stopper.monitor}): "
                            "a background score arrives after the validation of its step; use background: false.")
    for callback in trainer.checkpoint_callbacks:
        keeps_by_score = isinstance(callback, RunCheckpoint) and (callback.monitor is not None or callback.keep is not None)
        if isinstance(callback, ModelCheckpoint) and callback.save_top_k > 0 and not keeps_by_score:
            raise UserError(f"BenchmarkCallback: background: true needs every step checkpoint kept until it is scored; "
                            f"--checkpoint.save_top_k {callback.save_top_k} without --checkpoint.monitor deletes older "
                            "ones at each save (use -1, or a monitor such as benchmark/pass@1).")


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it (as the user named the run)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)

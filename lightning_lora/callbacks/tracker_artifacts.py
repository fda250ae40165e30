"""The run's files in an experiment tracker: params.json, config.yaml and each checkpoint's benchmark results.

TensorBoard and CSV keep these files beside their logs (the run folder); MLflow and Weights & Biases show a run's
files only when they are logged to it, as MLflow artifacts or W&B run files and artifacts.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import lightning as L

__all__ = ["TrackerArtifacts"]

#: Per-checkpoint benchmark files (``step000020.results.json`` / ``.samples.jsonl``, ``base.*``), as the benchmark
#: callback writes them next to the checkpoints; rescoring under other settings adds a tag (``.max_problems2``).
_RESULTS = re.compile(r"^(step\d+|base)\.(results\.json|samples\.jsonl)$")


class TrackerArtifacts(L.Callback):
    """Log the run's parameter report (``params.json``) and resolved config (``config.yaml``) once, and every
    benchmark results file of the run's checkpoint folder as it appears (looked for after each validation and at
    the end of fit) to each MLflow or W&B logger of the trainer; other loggers are left alone.

    The ``fit`` command adds it by itself when ``trainer.logger`` is one of those trackers.
    """

    #: The loggers (class names) that keep files: the CLI adds this callback when one of them logs the run.
    KINDS = ("MLFlowLogger", "WandbLogger")

    def __init__(self) -> None:
        self._logged: set[str] = set()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        params = getattr(pl_module, "params", None)
        if not trainer.is_global_zero or not params or "params.json" in self._logged:
            return
        with tempfile.TemporaryDirectory() as folder:  # the module writes it only where there is a log folder
            path = Path(folder) / "params.json"
            path.write_text(json.dumps({"method": getattr(pl_module, "method", None), **params}, indent=2) + "\n")
            self._log(trainer, [path], "run")
        self._logged.add("params.json")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log_new_files(trainer)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log_new_files(trainer)

    def _log_new_files(self, trainer: L.Trainer) -> None:
        callback = trainer.checkpoint_callback
        if not trainer.is_global_zero or callback is None or not callback.dirpath or not Path(callback.dirpath).is_dir():
            return
        folder = Path(callback.dirpath)
        config = folder / "config.yaml"
        if "config.yaml" not in self._logged and config.is_file():
            self._log(trainer, [config], "run")
            self._logged.add("config.yaml")
        found: dict[str, list[Path]] = {}
        for path in sorted(folder.iterdir()):
            match = _RESULTS.match(path.name)
            if match and path.name not in self._logged:
                found.setdefault(match.group(1), []).append(path)
        for stem, files in found.items():  # a checkpoint's results and samples go together
            if any(p.name.endswith(".results.json") for p in files):
                self._log(trainer, files, "benchmark", stem)
                self._logged.update(p.name for p in files)

    def _log(self, trainer: L.Trainer, files: list[Path], folder: str, stem: str | None = None) -> None:
        for logger in trainer.loggers:
            kind = type(logger).__name__
            if kind == "MLFlowLogger":
                for path in files:
                    logger.experiment.log_artifact(logger.run_id, str(path), folder)
            elif kind == "WandbLogger":
                _log_to_wandb(logger.experiment, files, folder, stem)


def _log_to_wandb(run: Any, files: list[Path], folder: str, stem: str | None) -> None:
    """Copy ``files`` into the run's files (``<run dir>/files/<folder>/``: ``run.save`` would link to the originals,
    and params.json is a temporary file); a checkpoint's benchmark files also become one artifact (``<run>-<stem>``,
    type ``benchmark``), versioned by W&B when a resumed run logs them again."""
    import wandb

    for path in files:
        target = Path(run.dir) / folder / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        run.save(str(target), base_path=run.dir, policy="now")
    if stem is not None:
        artifact = wandb.Artifact(re.sub(r"[^A-Za-z0-9._-]", "-", f"{run.name}-{stem}"), type="benchmark")
        for path in files:
            artifact.add_file(str(path), name=path.name)
        run.log_artifact(artifact)

"""The training command line as a library: one LightningCLI subclass for fit / validate / test / predict.

:func:`build_cli` builds (and by default runs) it; the ``fit`` command, ``benchmark --config`` and
``export`` build their model through it, and tests drive it with a list of arguments.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

# Quieter, deterministic start-up: no tokenizer thread pools fighting the dataloader, no
# deprecation chatter from jsonargparse on every run.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")


def _quiet_library_chatter() -> None:
    """What a newcomer should not have to read: two deprecation notices addressed to library authors, a
    warning about passing ``args`` (the command does so on purpose) and an advertisement for a logging service."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=r".*`is_gradient_checkpointing` is deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)` is deprecated")
    warnings.filterwarnings("ignore", message=r"LightningCLI's args parameter is intended to run from within Python")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
        lambda record: not str(record.getMessage()).startswith("💡 Tip"))


_quiet_library_chatter()

from lightning.pytorch import LightningDataModule  # noqa: E402
from lightning.pytorch.callbacks import LearningRateMonitor  # noqa: E402
from lightning.pytorch.callbacks.progress import ProgressBar  # noqa: E402
from lightning.pytorch.cli import LightningArgumentParser, SaveConfigCallback  # noqa: E402
from lightning.pytorch.utilities.seed import isolate_rng  # noqa: E402

from lightning_lora.callbacks.checkpoint import RunCheckpoint  # noqa: E402
from lightning_lora.callbacks.preemption import SynchronizedStop  # noqa: E402
from lightning_lora.callbacks.random_state import RandomStateCheckpoint  # noqa: E402
from lightning_lora.callbacks.throughput import TokenThroughput  # noqa: E402
from lightning_lora.callbacks.tracker_artifacts import TrackerArtifacts  # noqa: E402
from lightning_lora.checkpoints.reading import (  # noqa: E402
    check_output_folders_writable,
    refuse_fresh_fit_into,
    refuse_resume_after_early_stop,
    resolve_ckpt_path,
)
from lightning_lora.data.base import BaseDataModule  # noqa: E402
from lightning_lora.errors import UserError, summarize_parse_error  # noqa: E402
from lightning_lora.files import LOG_ROOT, checkpoint_dir, remove_stale_temporaries  # noqa: E402
from lightning_lora.lightning_internals import ConfigOverCheckpointCLI, progress_bar  # noqa: E402
from lightning_lora.models.loading import load_tokenizer, sharing_tokenizer, with_gguf_file  # noqa: E402
from lightning_lora.modules.base import AdaptedModule  # noqa: E402
from lightning_lora.training.config_errors import (  # noqa: E402
    check_config_files,
    choice_error,
    linked_option_error,
    unknown_class_error,
)
from lightning_lora.training.config_upgrade import saved_config_text, upgraded_config_arguments  # noqa: E402
from lightning_lora.training.run_lock import RunLock, is_primary_process  # noqa: E402
from lightning_lora.training.trainer_options import check_trainer_options  # noqa: E402


class OneLineErrorParser(LightningArgumentParser):
    """Parse errors as one ``error:`` line naming the option, not the whole usage text."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error:
            super().error(message, ex)
        sentence = (unknown_class_error(message) or linked_option_error(message) or choice_error(message)
                    or summarize_parse_error(message))
        sys.stderr.write(f"error: {sentence} (see --help)\n")
        sys.exit(2)


class SaveConfigToRun(SaveConfigCallback):
    """Saves the resolved config in the log folder (Lightning's behaviour) and in the checkpoint folder,
    so ``benchmark --checkpoints_dir`` and later re-scoring need nothing but the run's folders."""

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        # A logger with no local folder (MLflow on a database) has no log folder for config.yaml: the run's
        # checkpoint folder keeps it (on_train_start), and TrackerArtifacts logs it to the tracker.
        if trainer.log_dir is not None:
            super().setup(trainer, pl_module, stage)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        # Written here, not in setup, so ModelCheckpoint's "folder not empty" check sees the run as it was.
        checkpoint_callback = trainer.checkpoint_callback
        if not trainer.is_global_zero or checkpoint_callback is None or not checkpoint_callback.dirpath:
            return
        target = Path(checkpoint_callback.dirpath) / self.config_filename
        target.parent.mkdir(parents=True, exist_ok=True)
        config = self.config.clone()
        for key in ("ckpt_path", "weights_only"):  # arguments of fit itself, not of the run
            config.pop(key, None)
        self.parser.save(config, target, skip_none=False, overwrite=True, multifile=False, skip_check=True)


class LightningLoraCLI(ConfigOverCheckpointCLI):
    """LightningCLI with the project's defaults: run folders, checkpoint cadence, linked model name.

    A ``fit`` holds its run folder's :class:`~lightning_lora.training.run_lock.RunLock` from before anything is
    written until the CLI returns or raises (and the kernel frees it on any other exit).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.run_lock: RunLock | None = None
        # (name, tokenizer): loaded once in before_instantiate_classes, for the data and the task module alike.
        self.shared_tokenizer: tuple[str, Any] | None = None
        # What this start created (folders, the lock file), removed again if the start fails and they stay empty.
        self.created_at_start: list[Path] = []
        self.run_folders: list[Path] = []
        self.created_lock_file = False
        try:
            super().__init__(*args, **kwargs)
        except BaseException:
            self.remove_what_this_start_left_empty()
            raise
        finally:
            if self.run_lock is not None:
                self.run_lock.release()

    def remove_what_this_start_left_empty(self) -> None:
        """Remove the folders this start created that hold nothing (deepest first; a folder that holds a file
        stays), and the lock file it created when its run folder went with them."""
        if not is_primary_process():
            return
        for folder in sorted(self.created_at_start, key=lambda p: len(p.parts), reverse=True):
            # Inside the run's own folders (this fit holds the run's lock), empty subfolders go too (an empty
            # tb_logs/<run>/version_0); a shared parent such as checkpoints/ only goes when it is empty itself.
            inside = folder.rglob("*") if folder in self.run_folders else ()
            for path in sorted((p for p in inside if p.is_dir() and not p.is_symlink()), key=lambda p: len(p.parts),
                               reverse=True):
                with contextlib.suppress(OSError):
                    path.rmdir()
            with contextlib.suppress(OSError):
                folder.rmdir()
        lock = self.run_lock
        if lock is not None and lock.held and self.created_lock_file and not lock.run_folder.exists():
            lock.release(remove=True)
            with contextlib.suppress(OSError):  # checkpoints/ itself, when the lock file was all it held
                if lock.run_folder.parent in self.created_at_start:
                    lock.run_folder.parent.rmdir()

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--run_name", type=str, default="run",
                            help="Name of the run: logs go to tb_logs/<run_name>/, checkpoints to checkpoints/<run_name>/.")
        parser.add_argument("--eval_every_n_steps", type=int, default=20,
                            help="Validate every this many optimizer steps (sets trainer.val_check_interval).")
        parser.add_lightning_class_args(RunCheckpoint, "checkpoint")
        parser.set_defaults({
            "checkpoint.every_n_train_steps": 20, "checkpoint.save_top_k": -1, "checkpoint.save_last": True,
            "checkpoint.filename": "step{step:06d}", "checkpoint.auto_insert_metric_name": False,
            # Ctrl-C, SIGTERM (preemption) and crashes save a checkpoint before the process exits.
            "checkpoint.save_on_exception": True,
        })
        parser.add_lightning_class_args(LearningRateMonitor, "lr_monitor")
        parser.set_defaults({"lr_monitor.logging_interval": "step"})
        parser.add_lightning_class_args(TokenThroughput, "throughput")
        parser.add_lightning_class_args(RandomStateCheckpoint, "random_state")
        parser.add_lightning_class_args(SynchronizedStop, "preemption")
        parser.link_arguments(("model.init_args.model_name_or_path", "model.init_args.gguf_file"),
                              "data.init_args.tokenizer_name_or_path", compute_fn=_tokenizer_source)
        parser.link_arguments("run_name", "checkpoint.dirpath", compute_fn=lambda name: str(checkpoint_dir(name)))
        parser.link_arguments(("eval_every_n_steps", "trainer.accumulate_grad_batches"), "trainer.val_check_interval",
                              compute_fn=lambda every, accumulate: every * (accumulate or 1))

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        """The trainer, with :func:`~lightning_lora.lightning_internals.progress_bar` unless the config names one
        or turns bars off."""
        config = self.config_init[self.subcommand] if self.subcommand else self.config_init
        trainer = config.get("trainer") or {}
        callbacks = trainer.get("callbacks") or []
        callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
        loggers = _logger_list(trainer.get("logger"))  # instances by now
        extra = [TrackerArtifacts()] if self.subcommand == "fit" and any(
            type(logger).__name__ in TrackerArtifacts.KINDS for logger in loggers) else []
        if trainer.get("enable_progress_bar") is not False and not any(isinstance(c, ProgressBar) for c in callbacks):
            extra.append(progress_bar())
        if extra:
            kwargs.setdefault("callbacks", [*callbacks, *extra])
        return super().instantiate_trainer(**kwargs)

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.eval_every_n_steps < 1:
            raise UserError("--eval_every_n_steps must be a positive number of optimizer steps, "
                            f"got {config.eval_every_n_steps}.")
        check_trainer_options(config, fit=self.subcommand == "fit")
        if config.trainer.get("use_distributed_sampler"):
            raise UserError("trainer.use_distributed_sampler must stay false: lightning_lora shards the training data "
                            "itself (an order that resumes exactly), and every process evaluates the whole validation set.")
        with isolate_rng():
            datamodule = _datamodule_from_config(config)
            _fill_label_names(config, datamodule)
        _name_loggers(config.trainer.logger, config.run_name)
        if self.subcommand == "fit":  # before any weights load: a run that cannot save must not start
            log_folder = LOG_ROOT / config.run_name if _is_default_logger(config.trainer.logger) else \
                _log_folder(config.trainer.logger)
            logs = log_folder == LOG_ROOT / config.run_name
            outputs = [checkpoint_dir(config.run_name)] + ([log_folder] if log_folder is not None else [])
            self.run_folders = outputs
            self.created_at_start = [path for folder in outputs for path in [*reversed(folder.parents), folder]
                                     if path != Path(".") and not path.exists()]
            check_output_folders_writable(config.run_name, logs=logs)
            if is_primary_process():  # one fit per run folder; the other ranks share rank zero's lock
                lock = RunLock(checkpoint_dir(config.run_name))
                self.created_lock_file = not lock.path.exists()
                self.run_lock = lock.acquire()
                remove_stale_temporaries(checkpoint_dir(config.run_name))  # of saves killed mid-write
        ckpt_path = config.get("ckpt_path")
        if ckpt_path == "auto":  # preemptible jobs re-run one command: resume when there is something to resume
            if self.subcommand != "fit":
                raise UserError("--ckpt_path auto is for fit (resume if the run has a last checkpoint, else start); "
                                "validate and test need a checkpoint path or 'last'.")
            has_last = (checkpoint_dir(config.run_name) / "last.ckpt").is_file()
            config.ckpt_path = ckpt_path = "last" if has_last else None
        checkpoint = None
        if ckpt_path:
            checkpoint = resolve_ckpt_path(ckpt_path, config.run_name, resume=self.subcommand == "fit")
            config.ckpt_path = ckpt_path = str(checkpoint.path)
            if self.subcommand == "fit":
                refuse_resume_after_early_stop(checkpoint_dir(config.run_name))
        elif self.subcommand == "fit":
            refuse_fresh_fit_into(checkpoint_dir(config.run_name), config.run_name)
        # Resuming fit continues the run's TensorBoard version or tracker run (MLflow, W&B; CSV starts a new
        # version); validate/test get a version of their own.
        resume = ckpt_path and self.subcommand == "fit"
        version = checkpoint.metadata.get("logger_version") if resume and checkpoint is not None else None
        if not _is_default_logger(config.trainer.logger):
            _resume_logger_version(config.trainer.logger, version)
        else:
            config.trainer.logger = {
                "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
                "init_args": {"save_dir": str(LOG_ROOT), "name": config.run_name, "version": version,
                              "default_hp_metric": False},
            }
        with isolate_rng():  # one load for the run: this data module, the run's own, and the task module
            self.shared_tokenizer = _connect_tokenizer(datamodule)
        if self.subcommand in ("fit", "validate", "test") and os.environ.get("LOCAL_RANK", "0") == "0":
            # Read, check and tokenize the data now (cached for the run's own data module), so a data
            # error is reported before any model weights are loaded. The random state is put back:
            # the model's initialisation (adapters, heads) draws what it drew before this check existed.
            with isolate_rng():
                datamodule.prepare_data()
            self.checked_data = datamodule  # built once: the run's own data module adopts it

    def instantiate_classes(self) -> None:
        """LightningCLI's classes, with the one tokenizer of the run: the task module gets it through
        :func:`~lightning_lora.models.loading.sharing_tokenizer` while it is built, the data module adopts the
        early one (tokenizer included) or is connected to it."""
        if self.shared_tokenizer is None:
            super().instantiate_classes()
        else:
            with sharing_tokenizer(*self.shared_tokenizer):
                super().instantiate_classes()
        checked = getattr(self, "checked_data", None)
        if checked is not None and type(checked) is type(self.datamodule):
            self.datamodule.adopt_built(checked)
        elif self.shared_tokenizer is not None and isinstance(self.datamodule, BaseDataModule):
            self.datamodule.connect(self.shared_tokenizer[1])


def _datamodule_from_config(config: Any) -> Any:
    """The data module the config describes, built ahead of LightningCLI's own (to check and ask it)."""
    module_name, _, class_name = config.data.class_path.rpartition(".")
    data_class = getattr(importlib.import_module(module_name), class_name)
    return data_class(**config.data.init_args.as_dict())


def _connect_tokenizer(datamodule: Any) -> tuple[str, Any] | None:
    """Load the run's tokenizer (``data.tokenizer_name_or_path``, linked from the model's name) once and connect
    it to ``datamodule``; None for a data module of another kind, or without a name (its own check says so)."""
    name = getattr(datamodule, "tokenizer_name_or_path", None)
    if not isinstance(datamodule, BaseDataModule) or not name:
        return None
    tokenizer = load_tokenizer(name)
    datamodule.connect(tokenizer)
    return name, tokenizer


def _fill_label_names(config: Any, datamodule: Any) -> None:
    """Give a classifier the data module's class names when the config leaves ``model.num_labels`` unset.

    This is the link from data to model (the number of classes is only known once the data's label
    feature is read).
    """
    init_args = config.model.get("init_args")
    if init_args is None or "num_labels" not in init_args or init_args.get("num_labels") is not None:
        return
    names = getattr(datamodule, "label_names", None)
    if not names:
        raise UserError(f"model.num_labels is unset and {config.data.class_path} does not provide label names.")
    init_args.num_labels = len(names)
    if not init_args.get("label_names"):
        init_args.label_names = list(names)


def _tokenizer_source(model_name_or_path: str, gguf_file: str | None) -> str:
    return with_gguf_file(model_name_or_path, gguf_file)


def _is_default_logger(logger: Any) -> bool:
    return logger is None or logger is True


def _logger_list(logger: Any) -> list[Any]:
    """The loggers of ``trainer.logger``, configs or instances (one, a list, or none for ``false`` / the default)."""
    if _is_default_logger(logger) or logger is False:
        return []
    return list(logger) if isinstance(logger, (list, tuple)) else [logger]


def _logger_kind(logger: Any) -> str | None:
    """``TensorBoardLogger``, ``CSVLogger``, ``MLFlowLogger``, ``WandbLogger``, ...: the class name of a logger config."""
    class_path = logger.get("class_path") if hasattr(logger, "get") else None
    return class_path.rpartition(".")[2] if isinstance(class_path, str) else None


def _name_loggers(logger: Any, run_name: str) -> None:
    """Give the loggers the run's name where the config leaves Lightning's defaults: TensorBoard and CSV write to
    ``<save_dir>/<run_name>/version_N``, W&B (offline or not) under ``tb_logs/<run_name>/wandb`` with the run named
    ``<run_name>``, MLflow records a run ``<run_name>`` in the experiment ``lightning_lora``."""
    for one in _logger_list(logger):
        kind, init_args = _logger_kind(one), one.get("init_args")
        if init_args is None:
            continue
        if kind in ("TensorBoardLogger", "CSVLogger") and init_args.get("name") in (None, "lightning_logs"):
            init_args.name = run_name
        elif kind == "WandbLogger":
            if init_args.get("name") is None:
                init_args.name = run_name
            if init_args.get("save_dir") in (None, "."):
                init_args.save_dir = str(LOG_ROOT / run_name)
            if init_args.get("project") is None:
                init_args.project = "lightning_lora"
        elif kind == "MLFlowLogger":
            if init_args.get("run_name") is None:
                init_args.run_name = run_name
            if init_args.get("experiment_name") in (None, "lightning_logs"):
                init_args.experiment_name = "lightning_lora"


def _log_folder(logger: Any) -> Path | None:
    """The first logger's folder, where the run's params.json, config.yaml and train_summary.json go (Lightning's
    ``trainer.log_dir``): ``<save_dir>/<name>`` (above ``version_N``) for TensorBoard and CSV, ``save_dir`` for W&B;
    None for MLflow on a database (those files then reach the tracker as artifacts only)."""
    loggers = _logger_list(logger)
    init_args = loggers[0].get("init_args") if loggers else None
    if init_args is None:
        return None
    kind = _logger_kind(loggers[0])
    if kind in ("TensorBoardLogger", "CSVLogger") and init_args.get("save_dir") and init_args.get("name"):
        return Path(init_args.save_dir) / init_args.name
    if kind == "WandbLogger" and init_args.get("save_dir"):
        return Path(init_args.save_dir)
    return None


def _resume_logger_version(logger: Any, version: Any) -> None:
    """A resumed fit continues the run the checkpoint was logged to (its ``logger_version``): the same ``version_N``
    (TensorBoard), MLflow run id or W&B run id, unless the config names one. Only the first logger's version is
    recorded in checkpoints. A CSV logger starts a new ``version_N``: Lightning's CSVLogger deletes the
    ``metrics.csv`` of a version it reopens."""
    loggers = _logger_list(logger)
    init_args = loggers[0].get("init_args") if loggers else None
    if version is None or init_args is None:
        return
    kind = _logger_kind(loggers[0])
    key = {"TensorBoardLogger": "version", "WandbLogger": "version", "MLFlowLogger": "run_id"}.get(kind or "")
    # An int is a version_N folder, a string a tracker's run id: one never stands for the other.
    fits = isinstance(version, int) if kind == "TensorBoardLogger" else isinstance(version, str)
    if key is not None and fits and init_args.get(key) is None:
        setattr(init_args, key, version)


def build_cli(args: list[str] | None = None, run: bool = True) -> LightningLoraCLI:
    """Build (and by default run) the CLI; tests call this with a list of arguments."""
    if args is not None:
        check_config_files(args)
        args = nested_nulls_as_dicts(upgraded_config_arguments(args))
    return LightningLoraCLI(
        AdaptedModule, LightningDataModule, subclass_mode_model=True, subclass_mode_data=True,
        parser_class=OneLineErrorParser, save_config_callback=SaveConfigToRun, save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,
        # No model summary: its table lists the wrapper and the metric objects, and "Total FLOPs: 0"; the
        # parameter report (trainable vs total, params.json) says what matters.
        trainer_defaults={"check_val_every_n_epoch": None, "log_every_n_steps": 20, "use_distributed_sampler": False,
                          "enable_model_summary": False,
                          "plugins": [{"class_path": "lightning_lora.checkpoints.atomic_io.AtomicCheckpointIO"}]},
        args=args, run=run, parser_kwargs={"default_env": False},
    )


_NULLS = ("null", "Null", "NULL", "~")  # YAML nulls; "none" is a value (model.method none)


def nested_nulls_as_dicts(argv: list[str]) -> list[str]:
    """``--model.lora.target_modules null`` as ``--model '{"init_args": {"lora": {"target_modules": null}}}'``.

    jsonargparse (4.53) hands a nested override of a class-valued option (``model``, ``data``) on as the
    text ``None``, which an option typed ``list[str] | None`` refuses; the dict form reaches it as a real
    null, merged into the config's values like any other override.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        key, value, width = arg, None, 1
        if "=" in arg:
            key, value = arg.split("=", 1)
        elif i + 1 < len(argv):
            value, width = argv[i + 1], 2
        root, _, rest = key.removeprefix("--").partition(".")
        rest = rest.removeprefix("init_args.")
        if key.startswith("--") and root in ("model", "data") and rest and rest != "class_path" and value in _NULLS:
            nested: Any = None
            for part in reversed(rest.split(".")):
                nested = {part: nested}
            out += [f"--{root}", json.dumps({"init_args": nested})]
            i += width
            continue
        out.append(arg)
        i += 1
    return out


def build_from_config(config: str | Path) -> LightningLoraCLI:
    """The model, data module and trainer a training config describes, built without running anything and
    without a logger (``benchmark --config`` and ``export`` score or write that model)."""
    import warnings

    with warnings.catch_warnings():  # Lightning's "args and sys.argv both given" (we pass args on purpose)
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
        return build_cli(["--config", saved_config_text(Path(config)), "--trainer.logger", "false"], run=False)

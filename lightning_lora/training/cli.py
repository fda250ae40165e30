"""The training command line as a library: one LightningCLI subclass for fit / validate / test / predict.

:func:`build_cli` builds (and by default runs) it; the ``fit`` command, ``benchmark --config`` and
``export`` build their model through it, and tests drive it with a list of arguments.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import json
import os
import re
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
from lightning_lora.checkpoints.reading import (  # noqa: E402
    check_output_folders_writable,
    read_metadata,
    refuse_fresh_fit_into,
    refuse_resume_after_early_stop,
    resolve_ckpt_path,
)
from lightning_lora.data.base import BaseDataModule  # noqa: E402
from lightning_lora.errors import UserError, first_line, summarize_parse_error  # noqa: E402
from lightning_lora.files import LOG_ROOT, checkpoint_dir, read_utf8_text, remove_stale_temporaries  # noqa: E402
from lightning_lora.lightning_internals import ConfigOverCheckpointCLI, progress_bar  # noqa: E402
from lightning_lora.models.loading import load_tokenizer, sharing_tokenizer, with_gguf_file  # noqa: E402
from lightning_lora.modules.base import AdaptedModule  # noqa: E402
from lightning_lora.training.config_upgrade import saved_config_text, upgraded_config_arguments  # noqa: E402
from lightning_lora.training.run_lock import RunLock, is_primary_process  # noqa: E402


class OneLineErrorParser(LightningArgumentParser):
    """Parse errors as one ``error:`` line naming the option, not the whole usage text."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error:
            super().error(message, ex)
        sentence = (unknown_class_error(message) or linked_option_error(message) or choice_error(message)
                    or summarize_parse_error(message))
        sys.stderr.write(f"error: {sentence} (see --help)\n")
        sys.exit(2)


def linked_option_error(message: str) -> str | None:
    """An option the CLI computes from others (``trainer.val_check_interval`` from ``--eval_every_n_steps``),
    given directly: say which option sets it."""
    linked = re.search(r"argument <lambda>\(([^)]*)\) --> (\S+?):", message)
    if linked is None:
        return None
    sources = [f"--{name.strip()}" for name in linked.group(1).split(",")]
    if linked.group(2) == "trainer.val_check_interval":
        return ("trainer.val_check_interval is set from --eval_every_n_steps (validate every N optimizer steps, "
                "times trainer.accumulate_grad_batches); give --eval_every_n_steps instead")
    return f"{linked.group(2)} is computed from {', '.join(sources)}; set those instead"


def choice_error(message: str) -> str | None:
    """``trainer.precision: 17 is not one of 32-true, bf16-mixed, ...`` where every alternative of the option is a
    fixed list of values (jsonargparse names only the first list)."""
    import ast

    key = re.search(r'^Parser key "([^"]+)"', message)
    given = re.search(r"^\s*Given value: (.*)$", message, re.M)
    errors = re.findall(r"^\s*- Expected a (.*)$", message, re.M)
    literals = [e for e in errors if e.startswith("typing.Literal[")]
    if key is None or given is None or not literals or len(literals) + sum("NoneType" in e for e in errors) < len(errors):
        return None
    values: list[str] = []
    for literal in literals:
        try:
            values += [str(v) for v in ast.literal_eval(literal[len("typing.Literal"):])]
        except (ValueError, SyntaxError):
            return None
    return f"{key.group(1)}: {given.group(1)} is not one of {', '.join(dict.fromkeys(values))}"


_GIVEN_CLASS = re.compile(r"Problem with given class_path '([^']+)':\s*\n\s*(.+)|Expected a dot import path string: (\S+)|"
                          r"(Import path does not correspond to a subclass of \w+)")
_NOT_FOUND = re.compile(r"has no attribute|No module named|Expected a dot import path|does not correspond to a subclass")


def unknown_class_error(message: str) -> str | None:
    """``<option>: no class <path> (<why>); the nearest ... are <names>`` for a class path the option cannot import
    (a misspelt class or module) or that is not of the option's kind; None for any other parse error."""
    key = re.search(r'Parser key "([^"]+)"', message)
    found = _GIVEN_CLASS.search(message)
    if key is None or found is None:
        return None
    option = key.group(1)
    given_value = re.search(r"^\s*Given value: (?:NestedArg\(key='class_path', val='([^']*)'\)|(.*))$", message, re.M)
    given = found.group(1) or found.group(3) or (given_value and (given_value.group(1) or given_value.group(2)))
    reason = (found.group(2) or found.group(4) or "").strip()
    if not given or (reason and not _NOT_FOUND.search(reason)):
        return None
    accepted = accepted_classes(option)
    project = [path for path in accepted if path.startswith("lightning_lora.")] or accepted
    if reason.startswith("Import path does not correspond"):
        kind = reason.rsplit(" ", 1)[-1]
        takes = f"; it takes e.g. {', '.join(project[:8])}" if project else ""
        return f"{option}: {given} is not a {kind}{takes}"
    why = f" ({reason})" if "has no attribute" in reason or "No module" in reason else ""
    nearest = _nearest(given, accepted)
    if len(nearest) == 1:
        return f"{option}: no class {given}{why}; did you mean {nearest[0]}?"
    if nearest:
        return f"{option}: no class {given}{why}; the nearest are {', '.join(nearest)}"
    takes = f"; it takes e.g. {', '.join(project[:8])}" if project else ""
    return f"{option}: no class {given}{why}{takes}"


def _nearest(given: str, accepted: list[str]) -> list[str]:
    """The accepted class paths nearest to ``given`` (a full path, or a bare class name), best first: those within
    a little of the best match, so a one-letter typo gets one answer."""
    def score(path: str) -> tuple[float, float]:  # the class name first, the whole path to break ties
        name = difflib.SequenceMatcher(None, given.rsplit(".", 1)[-1], path.rsplit(".", 1)[-1]).ratio()
        return name, difflib.SequenceMatcher(None, given, path).ratio()

    scored = sorted(((score(path), path) for path in accepted), reverse=True)
    if not scored or scored[0][0][0] < 0.6:
        return []
    return [path for (ratio, _), path in scored[:3] if ratio >= scored[0][0][0] - 0.05]


def accepted_classes(option: str) -> list[str]:
    """Class paths an option takes: the project's own (model, data, callbacks, strategies, checkpoint IO) and,
    for the trainer's options, Lightning's public ones; empty for an option that takes no class."""
    import inspect
    import pkgutil

    from lightning.fabric.plugins.environments.cluster_environment import ClusterEnvironment
    from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
    from lightning.pytorch import Callback, LightningModule
    from lightning.pytorch import callbacks as pl_callbacks
    from lightning.pytorch import loggers as pl_loggers
    from lightning.pytorch import plugins as pl_plugins
    from lightning.pytorch import strategies as pl_strategies
    from lightning.pytorch.loggers import Logger
    from lightning.pytorch.plugins.layer_sync import LayerSync
    from lightning.pytorch.plugins.precision import Precision
    from lightning.pytorch.strategies import Strategy

    kinds: dict[str, tuple[tuple[type, ...], list[str], Any]] = {  # option: bases, project modules, Lightning module
        "model": ((LightningModule,), ["lightning_lora.modules"], None),
        "data": ((LightningDataModule,), ["lightning_lora.data"], None),
        "trainer.callbacks": ((Callback,), ["lightning_lora.callbacks"], pl_callbacks),
        "trainer.logger": ((Logger,), [], pl_loggers),
        "trainer.strategy": ((Strategy,), ["lightning_lora.training.strategies"], pl_strategies),
        "trainer.plugins": ((Precision, ClusterEnvironment, CheckpointIO, LayerSync), ["lightning_lora.checkpoints"],
                            pl_plugins),
    }
    kind = kinds.get(option) or kinds.get(option.split(".", 1)[0])
    if kind is None:
        return []
    bases, project, lightning_module = kind
    found: list[str] = []
    for name in project:
        package = importlib.import_module(name)
        modules = [package] + [importlib.import_module(f"{name}.{info.name}")
                               for info in pkgutil.iter_modules(getattr(package, "__path__", []))]
        for module in modules:
            found += [f"{module.__name__}.{cls.__name__}" for cls in vars(module).values()
                      if inspect.isclass(cls) and cls.__module__ == module.__name__ and issubclass(cls, bases)
                      and not inspect.isabstract(cls) and cls not in bases]
    if lightning_module is not None:
        found += [f"{lightning_module.__name__}.{name}" for name in getattr(lightning_module, "__all__", [])
                  if inspect.isclass(getattr(lightning_module, name, None))
                  and issubclass(getattr(lightning_module, name), bases)]
    return list(dict.fromkeys(found))


class SaveConfigToRun(SaveConfigCallback):
    """Saves the resolved config in the log folder (Lightning's behaviour) and in the checkpoint folder,
    so ``benchmark --checkpoints_dir`` and later re-scoring need nothing but the run's folders."""

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
        if trainer.get("enable_progress_bar") is not False and not any(isinstance(c, ProgressBar) for c in callbacks):
            kwargs.setdefault("callbacks", [*callbacks, progress_bar()])
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
        if self.subcommand == "fit":  # before any weights load: a run that cannot save must not start
            logs = _is_default_logger(config.trainer.logger)
            outputs = [checkpoint_dir(config.run_name)] + ([LOG_ROOT / config.run_name] if logs else [])
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
        if ckpt_path:
            config.ckpt_path = ckpt_path = str(resolve_ckpt_path(ckpt_path, config.run_name,
                                                                      resume=self.subcommand == "fit"))
            if self.subcommand == "fit":
                refuse_resume_after_early_stop(checkpoint_dir(config.run_name))
        elif self.subcommand == "fit":
            refuse_fresh_fit_into(checkpoint_dir(config.run_name), config.run_name)
        if _is_default_logger(config.trainer.logger):
            # Resuming fit continues the run's TensorBoard version; validate/test get a version of their own.
            resume = ckpt_path and self.subcommand == "fit"
            version = (read_metadata(ckpt_path) or {}).get("logger_version") if resume else None
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


def check_trainer_options(config: Any, fit: bool = True) -> None:
    """Trainer (and checkpoint) options that cannot work, as one UserError naming the option, before any folder
    is created or weights load; Lightning would otherwise accept some silently (``max_steps 0`` trains nothing
    and exits 0, ``gradient_clip_val -1`` turns clipping off) and fail on others with a traceback."""
    trainer = config.trainer

    def number(option: str) -> Any:
        value = trainer.get(option)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        return value

    def bad(option: str, should: str, value: Any) -> NoReturn:
        raise UserError(f"{option} must be {should}, got {value}.")

    if fit:
        max_steps, max_epochs = number("max_steps"), number("max_epochs")
        if max_steps == 0 or max_epochs == 0:
            option, value = ("trainer.max_steps", max_steps) if max_steps == 0 else ("trainer.max_epochs", max_epochs)
            raise UserError(f"{option} {value} trains nothing; give a positive number (or -1 for no limit).")
        if isinstance(max_steps, int) and max_steps < -1:
            bad("trainer.max_steps", "a positive number of optimizer steps or -1 (no limit)", max_steps)
        if isinstance(max_epochs, int) and max_epochs < -1:
            bad("trainer.max_epochs", "a positive number of epochs or -1 (no limit)", max_epochs)
        limit = number("limit_train_batches")
        if isinstance(limit, (int, float)) and (limit <= 0 or (isinstance(limit, float) and limit > 1.0)):
            if limit == 0:
                raise UserError("trainer.limit_train_batches 0 trains nothing; give a fraction of an epoch in (0, 1] "
                                "or a positive number of batches.")
            bad("trainer.limit_train_batches", "a fraction of an epoch in (0, 1] or a positive number of batches", limit)
        accumulate = number("accumulate_grad_batches")
        if isinstance(accumulate, int) and accumulate < 1:
            bad("trainer.accumulate_grad_batches", "a positive number of batches per optimizer step", accumulate)
        every = config.get("checkpoint", {}).get("every_n_train_steps") if config.get("checkpoint") else None
        other_cadence = config.get("checkpoint") and (config.checkpoint.get("every_n_epochs")
                                                      or config.checkpoint.get("train_time_interval"))
        if isinstance(every, int) and (every < 0 or (every == 0 and not other_cadence)):
            bad("checkpoint.every_n_train_steps", "a positive number of optimizer steps (0 only with "
                "checkpoint.every_n_epochs or checkpoint.train_time_interval set)", every)
    for option in ("limit_val_batches", "limit_test_batches", "limit_predict_batches"):
        limit = number(option)
        if isinstance(limit, (int, float)) and (limit < 0 or (isinstance(limit, float) and limit > 1.0)):
            bad(f"trainer.{option}", "a fraction in [0, 1] or a number of batches (0: none)", limit)
    for option, should in (("min_steps", "a number of optimizer steps"), ("min_epochs", "a number of epochs")):
        value = number(option)
        if isinstance(value, int) and value < 0:
            bad(f"trainer.{option}", should, value)
    num_nodes = number("num_nodes")
    if isinstance(num_nodes, int) and num_nodes < 1:
        bad("trainer.num_nodes", "a positive number of machines", num_nodes)
    log_every = number("log_every_n_steps")
    if isinstance(log_every, int) and log_every < 1:
        bad("trainer.log_every_n_steps", "a positive number of steps (0 would log no training loss)", log_every)
    clip = trainer.get("gradient_clip_val")
    if isinstance(clip, (int, float)) and clip < 0:
        bad("trainer.gradient_clip_val", "a positive clipping threshold (or null: no clipping)", clip)
    algorithm = trainer.get("gradient_clip_algorithm")
    if algorithm is not None and str(algorithm).lower() not in ("norm", "value"):
        bad("trainer.gradient_clip_algorithm", "'norm' or 'value'", repr(algorithm))
    _check_devices(number("devices"))
    _check_accelerator(trainer.get("accelerator"))
    _check_strategy(trainer.get("strategy"))


def _check_devices(devices: Any) -> None:
    should = "a positive number of devices, a list of device indices, 'auto' or -1 (all of them)"
    if isinstance(devices, bool):
        return
    if isinstance(devices, int) and (devices == 0 or devices < -1):
        raise UserError(f"trainer.devices must be {should}, got {devices}.")
    if isinstance(devices, (list, tuple)) and (not devices or any(isinstance(d, int) and d < 0 for d in devices)):
        raise UserError(f"trainer.devices must be {should}, got {list(devices)}.")


def _check_accelerator(accelerator: Any) -> None:
    """A named accelerator Lightning knows and this machine has (``gpu`` on a machine without one is one line)."""
    if not isinstance(accelerator, str) or accelerator == "auto":
        return
    from lightning.pytorch.accelerators import AcceleratorRegistry

    name = accelerator.lower()
    known = sorted({*AcceleratorRegistry.available_accelerators(), "auto", "gpu"})
    if name not in known:
        nearest = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {nearest[0]}? " if nearest else ""
        raise UserError(f"trainer.accelerator {accelerator!r} is not an accelerator Lightning knows; {hint}"
                        f"the names are {', '.join(known)}.")
    if name == "gpu":
        import torch

        if torch.cuda.is_available() or (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            return
        available = False
    else:
        try:
            available = bool(AcceleratorRegistry[name]["accelerator"].is_available())
        except Exception:  # its package is missing (tpu without torch_xla)
            available = False
    if not available:
        what = "no CUDA GPU" if name in ("gpu", "cuda") else "no such device (or its package is not installed)"
        raise UserError(f"trainer.accelerator {accelerator}: this machine has {what}; "
                        "use --trainer.accelerator cpu (or auto).")


def _check_strategy(strategy: Any) -> None:
    """A strategy name Lightning knows, or a class path that imports."""
    if not isinstance(strategy, str) or strategy == "auto":
        return
    from lightning.pytorch.strategies import StrategyRegistry

    if "." in strategy:
        module_name, _, class_name = strategy.rpartition(".")
        try:
            getattr(importlib.import_module(module_name), class_name)
            return
        except (ImportError, AttributeError) as err:
            nearest = _nearest(strategy, accepted_classes("trainer.strategy"))
            hint = f"; did you mean {' or '.join(nearest)}?" if nearest else ""
            raise UserError(f"trainer.strategy: no class {strategy} ({first_line(err)}){hint}") from None
    known = ["auto", *StrategyRegistry.available_strategies()]
    if strategy.lower() not in known:
        nearest = difflib.get_close_matches(strategy.lower(), known, n=3)
        hint = f"did you mean {' or '.join(nearest)}? " if nearest else ""
        raise UserError(f"trainer.strategy {strategy!r} is not a strategy Lightning knows; {hint}"
                        "(names: auto, ddp, ddp_spawn, fsdp, deepspeed, ..., or a class path).")


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


def instantiation_error(err: BaseException) -> str | None:
    """One line for a class in the config that failed to build (jsonargparse reports it as a Union
    mismatch listing each alternative's complaint, e.g. a strategy whose package is missing)."""
    text = str(err)
    if "Does not validate against any of the Union subtypes" not in text or "class_path=" not in text:
        return None
    reasons = [line.strip()[2:] for line in text.split("Errors:", 1)[-1].splitlines()
               if line.strip().startswith("- ") and not line.strip().startswith("- Expected a")]
    class_path = re.search(r"class_path='([^']+)'", text)
    if not reasons or class_path is None:
        return None
    return f"{class_path.group(1)} could not be created: {reasons[0]}"


def _tokenizer_source(model_name_or_path: str, gguf_file: str | None) -> str:
    return with_gguf_file(model_name_or_path, gguf_file)


def _is_default_logger(logger: Any) -> bool:
    return logger is None or logger is True


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


def _runaway_quote(text: str, problem_mark: Any) -> Any:
    """The quoted scalar that spans lines and ends at or just before ``problem_mark``'s line (an unclosed quote
    that swallowed the following lines up to the next quote), or None."""
    import yaml

    last = None
    try:
        for token in yaml.scan(text):
            if token.start_mark.index >= problem_mark.index:
                break
            if isinstance(token, yaml.ScalarToken) and not token.plain:
                last = token
    except yaml.YAMLError:
        pass
    if last is None or last.start_mark.line == last.end_mark.line or problem_mark.line - last.end_mark.line > 1:
        return None
    return last


def check_config_files(argv: list[str]) -> None:
    """A ``--config`` file that is not valid YAML is named with its line and column (jsonargparse names neither)."""
    import yaml

    paths = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"]
    paths += [a.split("=", 1)[1] for a in argv if a.startswith("--config=")]
    for path in paths:
        file = Path(path)
        if "\n" in path or not file.is_file():  # YAML text in place of a path (build_from_config passes one)
            continue
        text = read_utf8_text(file, f"--config {path}")
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise UserError(_yaml_error_line(path, err, text)) from None


def _yaml_error_line(path: str, err: Any, text: str = "") -> str:
    """``--config <path>, line L, column C: <problem>``, placed where the mistake starts: an unclosed quote or
    bracket is named where it opens (the parser only notices it lines later, at the next quote or the end)."""
    def at(mark: Any) -> str:
        return f"line {mark.line + 1}, column {mark.column + 1}"

    problem_mark, context_mark = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or first_line(err)
    context = getattr(err, "context", None) or ""
    runaway = _runaway_quote(text, problem_mark) if problem_mark is not None else None
    if runaway is not None:  # a quote left open was closed by the next quote, lines later
        return (f"--config {path}, {at(runaway.start_mark)}: a quoted value starts here and is not closed on its line "
                f"(it runs to line {runaway.end_mark.line + 1}; {problem} at {at(problem_mark)}).")
    opened = context_mark is not None and ("quoted scalar" in context or "flow " in context)
    if opened and (problem_mark is None or problem_mark.line != context_mark.line):
        what = re.sub(r"^while (scanning|parsing) ", "", context)
        noticed = f" ({problem} at {at(problem_mark)})" if problem_mark is not None else f" ({problem})"
        what = what.replace("quoted scalar", "quoted value")
        return f"--config {path}, {at(context_mark)}: {what} starts here and is not closed{noticed}."
    where = f", {at(problem_mark)}" if problem_mark is not None else ""
    hint = " (YAML indents with spaces, not tabs)" if r"\t" in problem else ""
    return f"--config {path}{where}: {problem}{hint}."


def build_from_config(config: str | Path) -> LightningLoraCLI:
    """The model, data module and trainer a training config describes, built without running anything and
    without a logger (``benchmark --config`` and ``export`` score or write that model)."""
    import warnings

    with warnings.catch_warnings():  # Lightning's "args and sys.argv both given" (we pass args on purpose)
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
        return build_cli(["--config", saved_config_text(Path(config)), "--trainer.logger", "false"], run=False)

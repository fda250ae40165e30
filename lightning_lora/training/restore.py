"""The one way a command gets a model: :func:`restore` turns what the user named into a ready model, its
tokenizer and the prompt format it was trained with (:class:`~lightning_lora.inference.generation.PromptFormat`).

What can be named (every command that loads a model takes the same):

- ``--ckpt_path``: a checkpoint file, a run folder (``checkpoints/<run>``: its ``best``, else ``last.ckpt``) or
  ``last`` (with ``--config``: ``checkpoints/<run_name>/last.ckpt`` of its run). The model is built from the
  ``config.yaml`` fit saved beside the checkpoint, or from ``--config`` when given; the file is read once
  (:func:`~lightning_lora.checkpoints.reading.read_checkpoint`) and checked against the built model;
- ``--config`` alone: the config's base model;
- ``--checkpoints_dir`` (``benchmark``): a run folder's config, built once; :meth:`Restored.load_checkpoint`
  then loads each of its checkpoints in turn;
- ``--model``: a folder written by ``export``, another tool's adapter folder or any Hugging Face model folder
  (read by :mod:`lightning_lora.export.reader`).

Every sentence for a path that holds nothing usable comes from :mod:`lightning_lora.checkpoints.reading` and
:mod:`lightning_lora.export.reader`; the options that exclude each other are said here. Used by ``generate``,
``chat``, ``evaluate``, ``export`` and ``benchmark``; everything after loading is theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lightning_lora.checkpoints.reading import (
    BEST_LINK,
    Checkpoint,
    CheckpointNotFoundError,
    config_beside,
    config_file,
    find_checkpoint,
    read_checkpoint,
)
from lightning_lora.errors import UserError
from lightning_lora.export.reader import load_exported
from lightning_lora.inference.generation import PromptFormat

#: What each option names, for the sentence that asks for one.
_SOURCES = {
    "samples": "--samples S (with --problems P)",
    "ckpt_path": "--ckpt_path C (a checkpoint or a run folder)",
    "checkpoints_dir": "--checkpoints_dir D (each checkpoint of a run folder)",
    "config": "--config X.yaml (alone: its base model; with a checkpoint: the config that builds it)",
    "model": "--model M (an exported folder, a model folder, or real:<name> from models list)",
}
#: What each command offers in their place (others: ckpt_path, config, model); ``samples`` is benchmark's own.
_OFFERED = {"benchmark": ("samples", "ckpt_path", "checkpoints_dir", "config", "model"),
            "export": ("ckpt_path", "config")}
#: Options that cannot go together (``--config`` goes with either of the first two).
_EXCLUSIVE = (("model", "ckpt_path"), ("model", "config"), ("ckpt_path", "checkpoints_dir"))


class ModelOptionsError(UserError):
    """No model named, or two options that exclude each other."""


@dataclass
class Restored:
    """A model ready to use and where it came from.

    ``module`` (the ``AdaptedModule``), ``cli`` (the built CLI: data module, callbacks, ``config.run_name``) and
    ``config_path`` are set when the model was built from a training config; ``ckpt_path`` (the file, e.g.
    ``checkpoints/<run>/best``), ``step`` and ``metadata`` (the checkpoint's lightning_lora block) when a
    checkpoint was loaded; ``export_dir`` and ``export_record`` (its ``export.json``) for an exported folder.
    """

    model: Any
    tokenizer: Any
    prompt: PromptFormat
    source: str
    module: Any = None
    cli: Any = None
    step: int | None = None
    ckpt_path: Path | None = None
    config_path: Path | None = None
    metadata: dict[str, Any] | None = None
    export_dir: Path | None = None
    export_record: dict[str, Any] | None = None
    #: A note on how ``ckpt_path`` was chosen (``the best checkpoint of run folder D``), for ``source``.
    chosen: str = field(default="", repr=False)

    @property
    def checkpoint_file(self) -> Path | None:
        """The file the checkpoint really is: ``best`` (a link) resolved to its ``stepNNNNNN.ckpt``, beside it."""
        if self.ckpt_path is None:
            return None
        return self.ckpt_path.with_name(self.ckpt_path.resolve().name) if self.ckpt_path.is_symlink() else self.ckpt_path

    def load_checkpoint(self, ckpt_path: str | Path, option: str = "--ckpt_path") -> int:
        """Read one more checkpoint (once) into the module built before, after checking it belongs to it; return
        its step. ``benchmark --checkpoints_dir`` builds once and loads each checkpoint of the run this way."""
        if self.module is None:
            raise TypeError(f"{self.source} was not built from a training config: there is no module to load into.")
        self.chosen = ""
        return self._load(read_checkpoint(ckpt_path, option))

    def _load(self, checkpoint: Checkpoint) -> int:
        self.step = checkpoint.load_into(self.module)
        self.ckpt_path, self.metadata = checkpoint.path, checkpoint.metadata
        self.module.eval()
        module = self.module
        self.source = f"{checkpoint.path}{self.chosen} (step {self.step}, {module.method} on {module.model_name_or_path})"
        return self.step


def prompt_format_of(datamodule: Any) -> PromptFormat:
    """The prompt format a training data module used: its system prompt, and the chat template unless it
    trained on bare text (``data.mode: solution``)."""
    return PromptFormat(system_prompt=getattr(datamodule, "system_prompt", None) or None,
                        chat=getattr(datamodule, "mode", "prompt_solution") != "solution")


def restore(ckpt_path: str | None = None, config: str | None = None, model_dir: str | None = None, *,
            checkpoints_dir: str | None = None, command: str = "generate", text_model: bool = False,
            before_build: Callable[[Restored], None] | None = None) -> Restored:
    """The model the options name (see the module docstring), in eval mode.

    ``command`` names the command in its sentences. ``text_model`` (``generate``, ``chat``): the model must write
    text in a known prompt format (a causal LM; an exported folder with ``export.json`` or a chat template).
    ``before_build`` is called with what was found (paths, the checkpoint's ``metadata``) before any model
    loads, e.g. to refuse an export that cannot be made. A checkpoint is read once.
    """
    given = {"ckpt_path": ckpt_path, "config": config, "model": model_dir, "checkpoints_dir": checkpoints_dir}
    _check_options(command, {name for name, value in given.items() if value is not None})
    if model_dir is not None:
        from lightning_lora.models.registry import resolve_real_spec

        folder = resolve_real_spec(model_dir)  # real:<name>: the fetched model's folder in the cache
        exported = load_exported(Path(folder).expanduser(), need_prompt_format=text_model)
        return Restored(exported.model, exported.tokenizer, exported.prompt, str(model_dir),
                        export_dir=exported.folder, export_record=exported.record)

    found, checkpoint = _locate(ckpt_path, config, checkpoints_dir)
    if before_build is not None:
        before_build(found)

    from lightning_lora.training.cli import build_from_config

    cli = build_from_config(found.config_path)
    module = cli.model
    if text_model and getattr(module, "task_type", None) != "CAUSAL_LM":
        raise UserError(f"{found.config_path} builds a {type(module).__name__}, not a language model that writes text; "
                        "use predict for it.")
    found.module, found.cli, found.model, found.tokenizer = module, cli, module.model, module.tokenizer
    found.prompt = prompt_format_of(cli.datamodule)
    module.eval()
    if checkpoint is not None:
        found._load(checkpoint)
    elif checkpoints_dir is None:
        found.source, found.step = f"base model {module.model_name_or_path}", 0
    return found


def _locate(ckpt_path: str | None, config: str | None, checkpoints_dir: str | None) -> tuple[Restored, Checkpoint | None]:
    """Where the model comes from, before anything is built: the config, and the checkpoint read once."""
    found, checkpoint = Restored(None, None, PromptFormat(), ""), None
    if checkpoints_dir is not None:
        folder = Path(checkpoints_dir).expanduser()
        if not folder.is_dir():
            raise CheckpointNotFoundError(f"--checkpoints_dir {checkpoints_dir}: no run folder there "
                                          "(fit writes one per run: checkpoints/<run_name>).")
        found.config_path = config_file(config) if config is not None else config_beside(folder, "--checkpoints_dir",
                                                                                          checkpoints_dir)
        found.source = f"run folder {checkpoints_dir}"
    elif ckpt_path is not None:
        run_name = None
        if ckpt_path == "last" and config is not None:  # last of the config's run
            found.config_path = config_file(config)
            run_name = _run_name(found.config_path)
        path = find_checkpoint(ckpt_path, run_name)
        checkpoint = read_checkpoint(path)
        if found.config_path is None:
            found.config_path = config_file(config) if config is not None else config_beside(path.parent, "--ckpt_path",
                                                                                             ckpt_path)
        if Path(ckpt_path).expanduser().is_dir():
            found.chosen = (f", the best checkpoint of run folder {ckpt_path}" if path.name == BEST_LINK else
                            f", the last checkpoint of run folder {ckpt_path} (it has no best yet)")
        found.ckpt_path, found.metadata, found.step = path, checkpoint.metadata, checkpoint.step
        found.source = f"{path}{found.chosen} (step {checkpoint.step})"
    elif config is not None:
        found.config_path = config_file(config)
        found.source = f"base model of {config}"
    return found, checkpoint


def _check_options(command: str, given: set[str]) -> None:
    """One line when no model is named, or two options exclude each other."""
    offered = _OFFERED.get(command, ("ckpt_path", "config", "model"))
    choices = [_SOURCES[name] for name in offered]
    listed = ", ".join(choices[:-1]) + f" or {choices[-1]}"
    for first, second in _EXCLUSIVE:
        if first in given and second in given:
            raise ModelOptionsError(f"{command}: --{first} and --{second} exclude each other; give one of {listed}.")
    if not given & set(offered):
        raise ModelOptionsError(f"{command} needs a model: {listed}.")


def _run_name(config: Path) -> str:
    """The ``run_name`` a training config gives its run (the CLI's default ``run`` when it gives none)."""
    import yaml

    from lightning_lora.training.config_upgrade import saved_config_text

    data = yaml.safe_load(saved_config_text(config))
    return str(data.get("run_name") or "run") if isinstance(data, dict) else "run"

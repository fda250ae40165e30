"""The model a user wants to talk to: a training checkpoint, a config's base model, or an exported folder,
with the prompt format it was trained with (:class:`~lightning_lora.inference.PromptFormat`).

``generate`` and ``chat`` load through :func:`load_for_inference`; everything after loading is
:mod:`lightning_lora.inference`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning_lora.checkpoints import load_trainable_weights, read_metadata
from lightning_lora.errors import UserError
from lightning_lora.export import EXPORT_FILE
from lightning_lora.inference import DEFAULT_MAX_NEW_TOKENS, GenerationOptions, PromptFormat
from lightning_lora.prompting import has_chat_template

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


@dataclass
class LoadedModel:
    """A causal LM ready to generate, its tokenizer, the training prompt format, and where it came from."""

    model: Any
    tokenizer: Any
    prompt: PromptFormat
    source: str


def prompt_format_of(datamodule: Any) -> PromptFormat:
    """The prompt format a training data module used: its system prompt, and the chat template unless it
    trained on bare text (``data.mode: solution``)."""
    return PromptFormat(system_prompt=getattr(datamodule, "system_prompt", None) or None,
                        chat=getattr(datamodule, "mode", "prompt_solution") != "solution")


def load_for_inference(ckpt_path: str | None = None, config: str | None = None, model_dir: str | None = None) -> LoadedModel:
    """Load from ``ckpt_path`` (with ``config``, default the ``config.yaml`` beside it), from ``config`` alone
    (the base model of a training config) or from ``model_dir`` (a folder written by ``export``)."""
    if model_dir is not None:
        if ckpt_path is not None or config is not None:
            raise UserError("--model DIR takes neither --ckpt_path nor --config (the folder carries its prompt format).")
        return load_exported(Path(model_dir).expanduser())
    if ckpt_path is None and config is None:
        raise UserError("Say which model: --ckpt_path checkpoints/<run>/best, --config X.yaml (its base model) "
                        "or --model DIR (an exported folder).")
    path = None
    if ckpt_path is not None:
        path = Path(ckpt_path).expanduser()
        if not path.is_file():
            raise UserError(f"--ckpt_path {ckpt_path}: no checkpoint file there "
                            "(e.g. checkpoints/<run>/best, last.ckpt or stepNNNNNN.ckpt).")
        if read_metadata(path) is None:
            raise UserError(f"--ckpt_path {ckpt_path} is not a checkpoint written by lightning_lora fit.")
    config_path = Path(config) if config else path.parent / "config.yaml"  # type: ignore[union-attr]
    if not config_path.is_file():
        raise UserError(f"The training config was not found: --config {config or config_path}.")
    from lightning_lora.training_cli import build_from_config

    cli = build_from_config(config_path)
    module = cli.model
    if getattr(module, "task_type", None) != "CAUSAL_LM":
        raise UserError(f"{config_path} builds a {type(module).__name__}, not a language model that writes text; "
                        "use predict for it.")
    source = f"base model {module.model_name_or_path}"
    if path is not None:
        step = load_trainable_weights(module, path)
        source = f"{path} (step {step}, {module.method} on {module.model_name_or_path})"
    module.eval()
    return LoadedModel(module.model, module.tokenizer, prompt_format_of(cli.datamodule), source)


def read_export_record(folder: Path) -> dict[str, Any]:
    """``export.json`` of an exported folder ({} for another Hugging Face folder)."""
    record = folder / EXPORT_FILE
    return json.loads(record.read_text()) if record.is_file() else {}


def open_export(folder: Path) -> tuple[Any, dict[str, Any]]:
    """The tokenizer and ``export.json`` record of a folder written by ``export``, or of any Hugging Face model
    folder; one line naming the folder when it is none."""
    from lightning_lora.backbone import load_tokenizer

    if not folder.is_dir():
        raise UserError(f"--model {folder}: no folder there.")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(f"--model {folder} has no tokenizer files ({', '.join(TOKENIZER_FILES[:2])}); "
                        "an export made by lightning_lora export carries them.")
    return load_tokenizer(str(folder)), read_export_record(folder)


def load_export_model(folder: Path, record: dict[str, Any], tokenizer: Any) -> Any:
    """The model of an exported folder in eval mode: a PEFT adapter on the base its record (or, from another
    tool, its ``adapter_config.json``) names, a ``.gguf`` base included; or the whole (merged) model."""
    from lightning_lora.backbone import load_causal_lm

    adapter_config = folder / "adapter_config.json"
    if record.get("format") == "peft_adapter" or adapter_config.is_file():
        from peft import PeftModel

        # another tool's adapter folder has no export.json: its base is the one adapter_config.json names
        base_path = record.get("base_model_path") or json.loads(adapter_config.read_text()).get("base_model_name_or_path")
        if not base_path:
            raise UserError(f"--model {folder}: {adapter_config.name} names no base model (base_model_name_or_path), "
                            "and there is no export.json; say which base it adapts there.")
        base = load_causal_lm(base_path, pad_token_id=tokenizer.pad_token_id)
        model = PeftModel.from_pretrained(base, str(folder))
    else:
        model = load_causal_lm(str(folder), pad_token_id=tokenizer.pad_token_id)
    return model.eval()


def load_exported(folder: Path) -> LoadedModel:
    """A folder written by ``export`` (adapter or merged), or any Hugging Face model folder with a chat template."""
    tokenizer, record = open_export(folder)
    fmt = record.get("prompt_format") or {}
    if not has_chat_template(tokenizer) and fmt.get("chat_template") is not False:
        raise UserError(f"--model {folder}: its tokenizer has no chat template, so the prompt format the model "
                        "expects is unknown; export it again with lightning_lora export, which writes it.")
    model = load_export_model(folder, record, tokenizer)
    prompt = PromptFormat(system_prompt=fmt.get("system_prompt"), chat=fmt.get("chat", True))
    return LoadedModel(model, tokenizer, prompt, str(folder))


# -- the options of generate and chat ----------------------------------------------------------
def add_model_arguments(p: Any) -> None:
    """Which model, and its system prompt (shared with ``chat``)."""
    p.add_argument("--ckpt_path", type=str | None, default=None, help="checkpoint written by fit (e.g. checkpoints/<run>/best)")
    p.add_argument("--config", type=str | None, default=None,
                   help="training config (default with --ckpt_path: config.yaml beside it); alone: its base model")
    p.add_argument("--model", type=str | None, default=None, help="a folder written by export (adapter or merged)")
    p.add_argument("--system_prompt", type=str | None, default=None,
                   help="replace the training system prompt ('' for none); default: the one training used")


def add_generation_arguments(p: Any) -> None:
    """Decoding options (shared with ``chat``)."""
    p.add_argument("--max_new_tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS, help="most tokens per answer")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); above 0 samples")
    p.add_argument("--top_p", type=float, default=1.0, help="nucleus sampling mass (with --temperature > 0)")
    p.add_argument("--stop", type=list[str], default=[], help="strings that end an answer, e.g. [\"\\n\\n\"]")
    p.add_argument("--seed", type=int, default=0, help="random seed for sampling")


def options_of(args: Any) -> GenerationOptions:
    """The decoding options of a parsed command line."""
    return GenerationOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                             stop=tuple(args.stop), seed=args.seed)

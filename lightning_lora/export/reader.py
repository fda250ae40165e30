"""Reading an exported folder back: one written by ``export`` (a PEFT adapter on its base, or a merged model),
another tool's PEFT adapter folder, or any Hugging Face model folder, with the prompt format it carries.

An export written by this tool records the digest of each weight file in ``export.json``; a folder whose weight
files no longer match is refused in one line before any weights load (:func:`verify_export`). The writer is
:mod:`lightning_lora.export.writer`; ``generate``, ``chat`` and ``evaluate --model`` reach this
module through :func:`lightning_lora.training.restore.restore`. No Lightning here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning_lora.checkpoints.integrity import DIGEST_KEY, UnknownDigestAlgorithm, damaged_files
from lightning_lora.errors import UserError, first_line
from lightning_lora.export.writer import EXPORT_FILE
from lightning_lora.inference.generation import PromptFormat
from lightning_lora.inference.prompting import has_chat_template

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


class ExportFolderError(UserError):
    """``--model`` names no folder, or one that cannot be loaded as a model."""


class DamagedExportError(ExportFolderError):
    """An export whose weight files no longer match the digests its ``export.json`` recorded."""


@dataclass
class Exported:
    """An exported folder loaded: the model in eval mode, its tokenizer, the prompt format, and ``export.json``."""

    folder: Path
    model: Any
    tokenizer: Any
    prompt: PromptFormat
    record: dict[str, Any]


def read_export_record(folder: Path) -> dict[str, Any]:
    """``export.json`` of an exported folder ({} for another Hugging Face folder)."""
    record = folder / EXPORT_FILE
    return json.loads(record.read_text()) if record.is_file() else {}


def open_export(folder: Path, option: str = "--model") -> tuple[Any, dict[str, Any]]:
    """The tokenizer and ``export.json`` record of a folder written by ``export``, or of any Hugging Face model
    folder; one line naming ``option`` and the folder when it is none."""
    from lightning_lora.models.loading import load_tokenizer

    if not folder.is_dir():
        raise ExportFolderError(f"{option} {folder}: no model folder there (a folder written by lightning_lora export, "
                                "or a Hugging Face model folder).")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ExportFolderError(f"{option} {folder} has no tokenizer files ({', '.join(TOKENIZER_FILES[:2])}); "
                                "an export made by lightning_lora export carries them.")
    return load_tokenizer(str(folder)), read_export_record(folder)


def verify_export(folder: Path, record: dict[str, Any], option: str = "--model") -> None:
    """Refuse, in one line naming ``option`` and the folder, an export whose weight files are missing or changed
    since export wrote them. Exports written before digests (and other tools' folders) pass."""
    try:
        damaged = damaged_files(folder, record.get(DIGEST_KEY))
    except UnknownDigestAlgorithm as err:
        raise DamagedExportError(f"{option} {folder}: export.json's digests were made with {err}, which this version "
                                 "of lightning_lora cannot check; load it with the version that wrote it.") from err
    if damaged:
        missing = [name for name in damaged if not (folder / name).is_file()]
        changed = [name for name in damaged if name not in missing]
        what = []
        if changed:
            what.append(f"{', '.join(changed)} {'does' if len(changed) == 1 else 'do'} not match the digest export.json "
                        "recorded when it was exported (damaged or modified file)")
        if missing:
            what.append(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
        source = record.get("checkpoint")
        again = (f"export it again (python -m lightning_lora export --ckpt_path {source} --output {folder} --overwrite)"
                 if source else "export it again from its checkpoint")
        raise DamagedExportError(f"{option} {folder}: {'; '.join(what)}; {again}.")


def saved_dtype(folder: Path) -> str | None:
    """The dtype a Hugging Face model folder's ``config.json`` says its weights are in (None when it says none)."""
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    dtype = config.get("dtype") or config.get("torch_dtype")
    return dtype if dtype in ("float32", "bfloat16", "float16") else None


def load_export_model(folder: Path, record: dict[str, Any], tokenizer: Any, option: str = "--model") -> Any:
    """The model of an exported folder in eval mode: a PEFT adapter on the base its record (or, from another
    tool, its ``adapter_config.json``) names, a ``.gguf`` base included; or the whole (merged) model."""
    from lightning_lora.models.loading import load_causal_lm

    # The dtype it trained in (export.json says since it records one; float32 before, and for other tools' adapters):
    # a bf16 model loaded in float32 computes otherwise and can answer otherwise.
    adapter_config = folder / "adapter_config.json"
    # A model folder from elsewhere (no export.json) loads in the dtype its config.json names, as transformers does.
    dtype = record.get("dtype") or (None if record or adapter_config.is_file() else saved_dtype(folder)) or "float32"
    if record.get("format") == "peft_adapter" or adapter_config.is_file():
        from peft import PeftModel

        # another tool's adapter folder has no export.json: its base is the one adapter_config.json names
        base_path = record.get("base_model_path") or json.loads(adapter_config.read_text()).get("base_model_name_or_path")
        if not base_path:
            raise ExportFolderError(f"{option} {folder}: {adapter_config.name} names no base model "
                                    "(base_model_name_or_path), and there is no export.json; say which base it adapts there.")
        base = load_causal_lm(base_path, dtype=dtype, pad_token_id=tokenizer.pad_token_id)
        model = PeftModel.from_pretrained(base, str(folder))
    else:
        model = load_causal_lm(str(folder), dtype=dtype, pad_token_id=tokenizer.pad_token_id)
    return model.eval()


def load_exported(folder: Path, need_prompt_format: bool = True, option: str = "--model") -> Exported:
    """A folder written by ``export`` (adapter or merged), or any Hugging Face model folder.

    With ``need_prompt_format`` (``generate``, ``chat``) the folder must say how prompts are written: an
    ``export.json`` or a tokenizer with a chat template. A folder whose model cannot be loaded is one line."""
    tokenizer, record = open_export(folder, option)
    fmt = record.get("prompt_format") or {}
    if need_prompt_format and not has_chat_template(tokenizer) and fmt.get("chat_template") is not False:
        raise ExportFolderError(f"{option} {folder}: its tokenizer has no chat template, so the prompt format the model "
                                "expects is unknown; export it again with lightning_lora export, which writes it.")
    verify_export(folder, record, option)
    try:
        model = load_export_model(folder, record, tokenizer, option)
    except UserError:
        raise
    except (OSError, ValueError) as err:
        raise ExportFolderError(f"{option} {folder} cannot be loaded as a model: {first_line(err)}") from err
    prompt = PromptFormat(system_prompt=fmt.get("system_prompt"), chat=fmt.get("chat", True))
    return Exported(folder, model, tokenizer, prompt, record)

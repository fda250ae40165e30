"""GGUF exports: ``export --format gguf`` (the merged model as one ``.gguf`` file) and ``--format gguf-lora`` (the
LoRA adapter alone as a llama.cpp GGUF adapter). The format is written by :mod:`lightning_lora.models.gguf_writer`
(re-exported here); this module adds what an export needs around it: the output path's checks, which methods have a
LoRA adapter, a QLoRA merge into a float32 copy of the base, and provenance in the file's metadata (the training
system prompt as ``lightning_lora.system_prompt`` and in ``general.description``, the prompt format, the base model,
method, checkpoint and step). No Lightning here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lightning_lora.export.writer import merge_adapter_into_base
from lightning_lora.inference.generation import PromptFormat
from lightning_lora.models.gguf_writer import (
    GGUFExportError,
    check_gguf_type,
    check_model,
    merged_model,
    rotary_rows,
    write_lora_gguf,
    write_model_gguf,
)

__all__ = ["GGUFExportError", "GGUFSource", "check_gguf_type", "check_lora_method", "check_model", "check_output_file",
           "default_gguf_type", "merged", "rotary_rows", "write_gguf", "write_gguf_lora"]

#: Methods whose checkpoint holds a LoRA adapter (``peft`` may: its config says, checked on the model).
LORA_METHODS = ("lora", "qlora", "peft")
#: Metadata keys of our own (llama.cpp and transformers ignore keys they do not know).
SYSTEM_PROMPT_KEY = "lightning_lora.system_prompt"
CHAT_KEY = "lightning_lora.chat"
SOURCE_KEY = "lightning_lora.source"
GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class GGUFSource:
    """What the file says about where it came from: base model, method, checkpoint (or folder) and step."""

    base_model: str | None = None
    method: str | None = None
    source: str | None = None
    step: int | None = None

    def sentence(self) -> str:
        what = f"{self.method or 'a fine-tuned model'}" + (f" step {self.step}" if self.step is not None else "")
        return f"Fine-tuned with lightning_lora ({what})" + (f" from {self.base_model}" if self.base_model else "")


def check_output_file(output: Path, overwrite: bool) -> None:
    """Refuse an --output that is not a new ``.gguf`` path (or, with ``overwrite``, a GGUF file to replace)."""
    if output.suffix != ".gguf":
        raise GGUFExportError(f"--output {output}: a GGUF export is one file; give a path ending in .gguf "
                              "(e.g. exported/model.gguf).")
    if output.is_dir():
        raise GGUFExportError(f"--output {output} is a folder; a GGUF export is one file, give a new .gguf path.")
    if output.exists():
        with open(output, "rb") as f:
            is_gguf = f.read(4) == GGUF_MAGIC
        if not is_gguf:
            raise GGUFExportError(f"--output {output} exists and is not a GGUF file; choose a new path.")
        if not overwrite:
            raise GGUFExportError(f"--output {output} holds a previous GGUF export; pass --overwrite to replace it.")
    existing = next(p for p in output.absolute().parents if p.exists())
    if not existing.is_dir():
        raise GGUFExportError(f"--output {output} cannot be written: {existing} is a file, not a folder.")


# -- what is exported -------------------------------------------------------------------------------------------------
def default_gguf_type(fmt: str, weights: torch.dtype | None = None) -> str:
    """For an adapter (``gguf-lora``) f32: small, and its values stay exact. For a whole model (``gguf``) a 16-bit
    type: bf16 when its weights are bf16 (the file holds them exactly: f16 would round the smallest values, and on the
    real Qwen2.5-Coder-0.5B that alone changed 5 of 20 greedy answers), else f16."""
    if fmt == "gguf-lora":
        return "f32"
    return "bf16" if weights == torch.bfloat16 else "f16"


def check_lora_method(method: str | None) -> None:
    """``gguf-lora`` needs a LoRA adapter: refuse other methods (from a checkpoint's metadata, before building)."""
    if method is not None and method not in LORA_METHODS:
        why = " (DoRA's magnitude vectors have no place in a llama.cpp adapter)" if method == "dora" else ""
        raise GGUFExportError(f"--format gguf-lora exports a LoRA adapter, but model.method {method!r} has none{why}; "
                              "use --format gguf for the whole model.")


def merged(model: Any, method: str | None = None) -> Any:
    """The whole model with its adapter folded in (PEFT's ``merge_and_unload``); ``qlora`` into a fresh unquantised
    float32 copy of the base, as the folder export does. A model without an adapter is returned as it is."""
    if method != "qlora" or not hasattr(model, "peft_config"):
        return merged_model(model)
    base = model.get_base_model()
    with tempfile.TemporaryDirectory() as adapter:
        model.save_pretrained(adapter)
        return merge_adapter_into_base(Path(adapter), type(base), base.config.name_or_path, torch.float32)


def add_provenance(writer: Any, source: GGUFSource, prompt: PromptFormat | None) -> None:
    """general.name / description and our own keys: the training system prompt, the prompt format, the source."""
    description = source.sentence() + "."
    if prompt is not None and prompt.system_prompt:
        description += f" Training system prompt: {prompt.system_prompt!r}."
        writer.add_string(SYSTEM_PROMPT_KEY, prompt.system_prompt)
    if prompt is not None:
        writer.add_bool(CHAT_KEY, prompt.chat)
    if source.base_model:
        writer.add_name(f"{Path(source.base_model).name} ({source.method or 'fine-tuned'})")
    writer.add_description(description)
    if source.source:
        writer.add_string(SOURCE_KEY, source.source + (f" (step {source.step})" if source.step is not None else ""))


def write_gguf(model: Any, tokenizer: Any, output: Path, gguf_type: str = "f16", prompt: PromptFormat | None = None,
               source: GGUFSource | None = None) -> dict[str, str]:
    """Write a whole causal LM (already merged) and its tokenizer as one GGUF file, with its provenance; return
    {tensor: stored type}."""
    return write_model_gguf(model, tokenizer, output, gguf_type,
                            lambda writer: add_provenance(writer, source or GGUFSource(), prompt))


def write_gguf_lora(peft_model: Any, output: Path, gguf_type: str = "f32", prompt: PromptFormat | None = None,
                    source: GGUFSource | None = None) -> dict[str, str]:
    """Write the LoRA adapter of ``peft_model`` as a llama.cpp GGUF adapter, with its provenance; return
    {tensor: stored type}."""
    return write_lora_gguf(peft_model, output, gguf_type,
                           lambda writer: add_provenance(writer, source or GGUFSource(), prompt))

"""Export a training checkpoint as a folder other tools load: a PEFT adapter, or a merged Hugging Face model.

Without merging the folder is a PEFT adapter (``adapter_config.json`` + ``adapter_model.safetensors``)
for ``PeftModel.from_pretrained(base, DIR)``; merged, the adapter is folded into the base weights and
the folder is a plain model for ``AutoModelFor*.from_pretrained(DIR)``. ``full`` and ``bitfit`` train
base weights themselves, so they have no adapter and need merging. The tokenizer (with its chat template),
an ``export.json`` (base model, method, checkpoint and step, prompt format, and the digest of each weight file,
which :mod:`lightning_lora.export.reader` checks), ``generation_config.json`` and a model card ``README.md`` go in
both. The command is :mod:`lightning_lora.commands.export`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from lightning_lora.checkpoints.integrity import DIGEST_KEY, folder_digests
from lightning_lora.errors import UserError, first_line
from lightning_lora.inference.generation import PromptFormat, generation_config
from lightning_lora.inference.prompting import has_chat_template
from lightning_lora.models.loading import resolve_source, with_gguf_file
from lightning_lora.models.methods import PEFT_METHODS

EXPORT_FILE = "export.json"


class ExportError(UserError):
    """An export cannot be made as asked."""


def check_output(output: Path, overwrite: bool) -> None:
    """Refuse an output folder that holds something other than a previous export, or cannot be written."""
    if output.exists() and not output.is_dir():
        raise ExportError(f"--output {output} exists and is not a folder.")
    existing = next(p for p in [output, *output.absolute().parents] if p.exists())
    if not existing.is_dir():
        raise ExportError(f"--output {output} cannot be written: {existing} is a file, not a folder.")
    if output.is_dir() and any(output.iterdir()):
        if not (output / EXPORT_FILE).is_file():
            raise ExportError(f"--output {output} is not empty and holds no previous export; choose a new folder.")
        if not overwrite:
            raise ExportError(f"--output {output} holds a previous export; pass --overwrite to replace it.")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryDirectory(dir=output.parent).cleanup()
    except OSError as err:
        raise ExportError(f"--output {output} cannot be written: {err.strerror or err}.") from err


def check_exportable(method: str | None, merge: bool) -> None:
    """Only PEFT methods have an adapter of their own; the others export whole models."""
    if not merge and method is not None and method not in PEFT_METHODS:
        raise ExportError(f"model.method {method!r} trains base weights, so there is no adapter to export; "
                          "pass --merge to write the whole model.")


def export_module(module: Any, output: Path, merge: bool, info: dict[str, Any] | None = None,
                  prompt: PromptFormat | None = None, card: Callable[[dict[str, Any]], str] | None = None) -> dict[str, Any]:
    """Write ``module``'s model (adapter, or merged with ``merge``) and tokenizer to ``output``; return export.json.

    A causal LM's folder also carries its prompt format: the chat template in the tokenizer files, the
    training system prompt (``prompt``) in export.json, and ``generation_config.json`` with the decoding
    ``generate`` uses (:func:`~lightning_lora.inference.generation.generation_config`). ``card`` turns export.json's
    content into the folder's ``README.md``.

    Merging folds the adapter into ``module.model`` in place (PEFT's ``merge_and_unload``); for
    ``qlora`` the adapter is merged into a fresh unquantised copy of the base instead, since
    rounding merged weights back to 4 bits would change them. The folder is written beside
    ``output`` and renamed into place, so a failed export leaves no half-written folder.
    """
    method = module.method
    check_exportable(method, merge)
    if merge and method in PEFT_METHODS and not hasattr(module.model.base_model, "merge_and_unload"):
        peft_type = module.model.peft_config["default"].peft_type.value
        raise ExportError(f"--merge: {peft_type} adapters cannot be merged into the base weights; "
                          "export the adapter without --merge.")
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        if not merge:
            module.model.save_pretrained(staging)
        elif method == "qlora":
            base = module.model.get_base_model()
            module.model.save_pretrained(staging / "adapter")
            merged = merge_adapter_into_base(staging / "adapter", type(base), base.config.name_or_path, _compute_dtype(module))
            merged.save_pretrained(staging)
            shutil.rmtree(staging / "adapter")
        else:
            model = module.model.merge_and_unload() if method in PEFT_METHODS else module.model
            model.save_pretrained(staging)
        module.tokenizer.save_pretrained(staging)
        record = export_record(module, merge, info or {})
        record[DIGEST_KEY] = folder_digests(staging)  # the weight files as written: a reader refuses them changed
        if module.task_type == "CAUSAL_LM":
            prompt = prompt or PromptFormat()
            generation_config(module.model, module.tokenizer).save_pretrained(staging)
            record["prompt_format"] = {"chat_template": has_chat_template(module.tokenizer), "chat": prompt.chat,
                                       "system_prompt": prompt.system_prompt}
        (staging / EXPORT_FILE).write_text(json.dumps(record, indent=2) + "\n")
        if card is not None:
            (staging / "README.md").write_text(card(record))
        if output.exists():  # an empty folder, or a previous export check_output allowed to replace
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def merge_adapter_into_base(adapter_dir: Path, model_class: Any, base: str, dtype: Any) -> Any:
    """Load the unquantised base with ``model_class`` and merge the adapter in ``adapter_dir`` into it."""
    from peft import PeftModel

    base_model = model_class.from_pretrained(base, dtype=dtype)
    return PeftModel.from_pretrained(base_model, str(adapter_dir)).merge_and_unload()


def _compute_dtype(module: Any) -> Any:
    import torch

    dtype = (getattr(module, "hparams", {}) or {}).get("dtype", "float32")
    return getattr(torch, dtype) if dtype in ("float32", "float16", "bfloat16") else torch.bfloat16


def export_record(module: Any, merge: bool, info: dict[str, Any]) -> dict[str, Any]:
    """What ``export.json`` says: the base model, the method and its settings, the format and how to load it."""
    metadata = {k: v for k, v in module.checkpoint_metadata().items() if k not in ("trainable_keys", "logger_version")}
    base = module.model.get_base_model() if hasattr(module.model, "get_base_model") else module.model
    model_class = type(base).__name__
    auto_class = "AutoModelForSequenceClassification" if module.task_type == "SEQ_CLS" else "AutoModelForCausalLM"
    base_path = base.config.name_or_path
    base_source = resolve_source(module.model_name_or_path) if module.model_name_or_path else None
    if base_source is not None and base_source.gguf_file:  # the adapter's base is read from a GGUF file again
        base_load = f"{base_source.path!r}, gguf_file={base_source.gguf_file!r}"
        base_path = with_gguf_file(base_source.path, base_source.gguf_file)  # what load_causal_lm takes
    else:
        base_load = repr(base_path)
    return {
        "format": "transformers" if merge else "peft_adapter",
        "merged": merge,
        "base_model": module.model_name_or_path,
        "base_model_path": base_path,
        "base_from_pretrained_args": base_load,
        "model_class": model_class,
        "method": module.method,
        # the dtype the model trained and generated in: loading the export in it answers as the checkpoint does
        "dtype": module.load_dtype,
        "metadata": metadata,
        **info,
        "load_with": (f"transformers.{auto_class}.from_pretrained(DIR)" if merge else
                      f"peft.PeftModel.from_pretrained(transformers.{auto_class}.from_pretrained({base_load}), DIR)"),
    }


def push_to_hub(folder: Path, repo_id: str) -> str:
    """Upload ``folder`` to the hub repository ``repo_id`` (created if missing); return its URL."""
    from huggingface_hub import HfApi

    try:
        api = HfApi()
        api.create_repo(repo_id, exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message="Upload from lightning_lora export")
    except Exception as err:  # network, offline mode, auth: errors come from httpx, huggingface_hub and OSError
        raise ExportError(f"--push_to_hub {repo_id}: upload failed ({first_line(err)}); the export in {folder} is complete, "
                          f"upload it later with `hf upload {repo_id} {folder}`.") from err
    return f"https://huggingface.co/{repo_id}"

"""Load a pretrained model and its tokenizer from a hub id, a local directory, or ``tiny:<arch>``.

Every path goes through ``from_pretrained``: a tiny offline model is first written to disk
(:mod:`lightning_lora.tiny`) and then loaded by path exactly as a user's model would be.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import torch

from lightning_lora.errors import UserError, first_line
from lightning_lora.tiny import resolve_tiny_spec

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "auto": "auto"}


class BackboneError(UserError):
    """A model or tokenizer could not be loaded because of the user's input."""


def _check_source(name_or_path: str) -> str:
    """A local directory, or a hub id; a path-like string that does not exist is an error here, not in transformers."""
    resolved = resolve_tiny_spec(name_or_path)
    local = Path(resolved).expanduser()
    if local.exists():
        return str(local)
    if resolved.startswith((".", "/", "~")) or resolved.count("/") > 1:
        raise BackboneError(f"Model path {resolved!r} (model.model_name_or_path) does not exist.")
    return resolved


def resolve_dtype(dtype: str) -> Any:
    """Map a dtype name from the config to a torch dtype (or ``"auto"``)."""
    if dtype not in DTYPES:
        raise BackboneError(f"model.dtype {dtype!r} is not one of {', '.join(DTYPES)}.")
    return DTYPES[dtype]


def load_tokenizer(name_or_path: str, padding_side: str = "right"):
    """Tokenizer with a pad token (the EOS token stands in when the model has none)."""
    from transformers import AutoTokenizer

    source = _check_source(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise BackboneError(f"Could not load a tokenizer from {name_or_path!r} ({_where(source)}): {first_line(err)}") from err
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise BackboneError(f"Tokenizer {name_or_path!r} has neither a pad nor an EOS token; add a pad token to it.")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = padding_side
    return tokenizer


def load_causal_lm(
    name_or_path: str,
    dtype: str = "float32",
    attn_implementation: str | None = "sdpa",
    quantization_config: Any = None,
    pad_token_id: int | None = None,
):
    """``AutoModelForCausalLM.from_pretrained`` with a clear error for a bad name or path."""
    from transformers import AutoModelForCausalLM

    return _load(AutoModelForCausalLM, name_or_path, dtype, attn_implementation, quantization_config, pad_token_id)


def load_sequence_classifier(
    name_or_path: str,
    label_names: list[str],
    dtype: str = "float32",
    attn_implementation: str | None = "sdpa",
    pad_token_id: int | None = None,
):
    """``AutoModelForSequenceClassification.from_pretrained`` with ``len(label_names)`` classes (head newly initialised)."""
    from transformers import AutoModelForSequenceClassification

    id2label = dict(enumerate(label_names))
    # A base saved as a classifier with another number of labels gets a new head, as users expect (logged below).
    return _load(AutoModelForSequenceClassification, name_or_path, dtype, attn_implementation, None, pad_token_id,
                 num_labels=len(label_names), id2label=id2label, label2id={v: k for k, v in id2label.items()},
                 ignore_mismatched_sizes=True)


def _load(auto_class: Any, name_or_path: str, dtype: str, attn_implementation: str | None,
          quantization_config: Any, pad_token_id: int | None, **kwargs: Any):
    source = _check_source(name_or_path)
    options: dict[str, Any] = {"dtype": resolve_dtype(dtype), **kwargs}
    if attn_implementation:
        options["attn_implementation"] = attn_implementation
    if quantization_config is not None:
        options["quantization_config"] = quantization_config
        # 4-bit weights are placed on this process's GPU at load time; Lightning must not move them.
        options["device_map"] = {"": int(os.environ.get("LOCAL_RANK", 0))}
    try:
        try:
            model, info = auto_class.from_pretrained(source, output_loading_info=True, **options)
        except ValueError as err:
            if not _unsupported_attention(err) or options.get("attn_implementation") in (None, "eager"):
                raise
            # Gemma2, Bloom, ... have no SDPA path in this transformers: fall back to the one every model has.
            print(f"[lightning_lora] {name_or_path}: {first_line(err).split(' does not support')[0]} does not support "
                  f"attn_implementation {options['attn_implementation']!r}; using 'eager'.", file=sys.stderr)
            options["attn_implementation"] = "eager"
            model, info = auto_class.from_pretrained(source, output_loading_info=True, **options)
    except (OSError, ValueError) as err:
        raise BackboneError(f"Could not load model {name_or_path!r} ({_where(source)}): {first_line(err)}") from err
    model.newly_initialized_modules = newly_initialized_modules(info)
    if model.newly_initialized_modules:
        replaced = sorted({key.rsplit(".", 1)[0] for key, *_ in info.get("mismatched_keys") or ()})
        print(f"[lightning_lora] {name_or_path}: not in the model's files, newly initialised: "
              f"{', '.join(model.newly_initialized_modules)}"
              + (f" (the saved {', '.join(replaced)} had another shape, e.g. another number of labels: replaced)"
                 if replaced else "")
              + "; they train with the method and are saved in every checkpoint and export.", file=sys.stderr)
    if pad_token_id is not None and getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = pad_token_id
    return model


def newly_initialized_modules(loading_info: dict[str, Any]) -> list[str]:
    """The modules ``from_pretrained`` initialised at random (weights missing from the files, or of another
    shape): task heads, poolers. Their weights must be trained and saved, or every load differs."""
    keys = set(loading_info.get("missing_keys") or ()) | {key for key, *_ in loading_info.get("mismatched_keys") or ()}
    return sorted({key.rsplit(".", 1)[0] for key in keys})


def _unsupported_attention(err: BaseException) -> bool:
    return "does not support an attention implementation" in str(err)


def _where(source: str) -> str:
    """Which option the name came from, and where it was looked for."""
    if Path(source).exists():
        return "model.model_name_or_path, a local folder"
    return "model.model_name_or_path, not a local folder, so a hub id"

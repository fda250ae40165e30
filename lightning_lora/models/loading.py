"""Load a pretrained model and its tokenizer from a hub id, a local directory, a ``.gguf`` file,
``tiny:<arch>`` or ``real:<name>``.

Every path goes through ``from_pretrained``: a tiny offline model is first written to disk
(:mod:`lightning_lora.models.tiny`), a ``real:`` alias names a model fetched by ``models fetch``
(:mod:`lightning_lora.models.fetch`), and both are loaded by path exactly as a user's model would be.
A GGUF file is read by transformers through the ``gguf`` package and de-quantized into
``model.dtype``; the result is an ordinary model (no quantization config is kept), so checkpoints,
``save_pretrained`` and merged exports need no ``gguf`` afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lightning_lora.errors import UserError, first_line
from lightning_lora.models.registry import resolve_real_spec
from lightning_lora.models.tiny import resolve_tiny_spec

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "auto": "auto"}


class BackboneError(UserError):
    """A model or tokenizer could not be loaded because of the user's input."""


@dataclass(frozen=True)
class Source:
    """Where ``from_pretrained`` reads from: a local folder or hub id, and the GGUF file in it, if any."""

    path: str
    gguf_file: str | None = None

    def options(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def with_gguf_file(model_name_or_path: str, gguf_file: str | None) -> str:
    """``model.model_name_or_path`` plus ``model.gguf_file`` as one name: the path (or hub id/file) of the GGUF file."""
    if not gguf_file:
        return model_name_or_path
    if model_name_or_path.endswith(".gguf"):
        raise BackboneError(f"model.model_name_or_path {model_name_or_path!r} is already a GGUF file; "
                            f"leave model.gguf_file ({gguf_file!r}) unset or give the folder.")
    return f"{model_name_or_path.rstrip('/')}/{gguf_file}"


def resolve_source(name_or_path: str) -> Source:
    """A local folder or hub id, split from its GGUF file when it names one; a path-like string that does
    not exist is an error here, not in transformers."""
    resolved = resolve_real_spec(resolve_tiny_spec(name_or_path))
    local = Path(resolved).expanduser()
    looks_local = resolved.startswith((".", "/", "~")) or resolved.count("/") > (2 if resolved.endswith(".gguf") else 1)
    if not local.exists() and looks_local:
        raise BackboneError(f"Model path {resolved!r} (model.model_name_or_path) does not exist.")
    if resolved.endswith(".gguf"):
        require_gguf(resolved)
        if local.exists():
            return Source(str(local.parent), local.name)
        repo, _, filename = resolved.rpartition("/")  # a hub repository and the GGUF file in it
        return Source(repo, filename)
    return Source(str(local) if local.exists() else resolved)


def require_gguf(name: str) -> None:
    """Refuse a GGUF model when the optional ``gguf`` package (transformers' GGUF reader) is missing."""
    if importlib.util.find_spec("gguf") is None:
        raise BackboneError(f"{name} (model.model_name_or_path) is a GGUF file; reading it needs the gguf package: "
                            "pip install gguf (or pip install -e '.[real]').")


def weights_dtype(model: Any) -> torch.dtype:
    """The dtype of a model's (base) weights: its input embedding's."""
    return model.get_input_embeddings().weight.dtype


def resolve_dtype(dtype: str) -> Any:
    """Map a dtype name from the config to a torch dtype (or ``"auto"``)."""
    if dtype not in DTYPES:
        raise BackboneError(f"model.dtype {dtype!r} is not one of {', '.join(DTYPES)}.")
    return DTYPES[dtype]


#: The tokenizer :func:`sharing_tokenizer` hands over, and the name it answers to, while its block runs.
_SHARED_TOKENIZER: ContextVar[tuple[str, Any] | None] = ContextVar("lightning_lora_shared_tokenizer", default=None)


@contextmanager
def sharing_tokenizer(name_or_path: str, tokenizer: Any) -> Iterator[None]:
    """Within the block, ``load_tokenizer(name_or_path)`` returns ``tokenizer`` instead of loading it again.

    The training CLI loads a run's tokenizer once, gives it to the data module (``connect``), and builds the
    task module inside this block: the module's ``__init__`` asks :func:`load_tokenizer` for it as it always
    does (it needs the pad id before the weights load) and gets the same object. Why a scoped hand-over rather
    than a ``tokenizer`` argument of the module: LightningCLI builds the module from its constructor's
    signature, so such an argument would become a command-line option and a key of every saved config, where
    a tokenizer object has no place. Outside the block (tests, ``generate``, ``export`` of a folder) nothing
    changes. Only a request for the same name and padding side is served; any other loads as usual.
    """
    token = _SHARED_TOKENIZER.set((name_or_path, tokenizer))
    try:
        yield
    finally:
        _SHARED_TOKENIZER.reset(token)


def load_tokenizer(name_or_path: str, padding_side: str = "right"):
    """Tokenizer with a pad token (the EOS token stands in when the model has none); inside
    :func:`sharing_tokenizer`, the tokenizer handed over for ``name_or_path``."""
    shared = _SHARED_TOKENIZER.get()
    if shared is not None and shared[0] == name_or_path and shared[1].padding_side == padding_side:
        return shared[1]
    from transformers import AutoTokenizer

    source = resolve_source(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.path, **source.options())
    except (OSError, ValueError) as err:
        raise BackboneError(f"Could not load a tokenizer from {name_or_path!r} ({_where(source.path)}): "
                            f"{first_line(err)}") from err
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
    source = resolve_source(name_or_path)
    options: dict[str, Any] = {"dtype": resolve_dtype(dtype), **source.options(), **kwargs}
    if attn_implementation:
        options["attn_implementation"] = attn_implementation
    if quantization_config is not None:
        options["quantization_config"] = quantization_config
        # 4-bit weights are placed on this process's GPU at load time; Lightning must not move them.
        options["device_map"] = {"": int(os.environ.get("LOCAL_RANK", 0))}
    try:
        try:
            model, info = auto_class.from_pretrained(source.path, output_loading_info=True, **options)
        except ValueError as err:
            if not _unsupported_attention(err) or options.get("attn_implementation") in (None, "eager"):
                raise
            # Gemma2, Bloom, ... have no SDPA path in this transformers: fall back to the one every model has.
            print(f"[lightning_lora] {name_or_path}: {first_line(err).split(' does not support')[0]} does not support "
                  f"attn_implementation {options['attn_implementation']!r}; using 'eager'.", file=sys.stderr)
            options["attn_implementation"] = "eager"
            model, info = auto_class.from_pretrained(source.path, output_loading_info=True, **options)
    except (OSError, ValueError) as err:
        raise BackboneError(f"Could not load model {name_or_path!r} ({_where(source.path)}): {first_line(err)}") from err
    if source.gguf_file:
        forget_gguf_quantization(model)
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


def forget_gguf_quantization(model: Any) -> None:
    """Make a model read from GGUF an ordinary one: its weights are already de-quantized in memory, but
    transformers keeps a ``gguf`` quantization config that makes ``save_pretrained`` refuse to write it."""
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False
    model.quantization_method = None


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

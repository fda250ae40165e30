"""Causal LMs and LoRA adapters as GGUF files (llama.cpp's format), written with the ``gguf`` package's
``GGUFWriter`` and tensor-name maps: the format alone, for ``export --format gguf`` / ``gguf-lora``
(:mod:`lightning_lora.export.gguf`, which adds the output checks and provenance) and the ``llamacpp`` generation
engine (:mod:`lightning_lora.inference.llamacpp_engine`, which writes files on the fly).

- :func:`write_model_gguf`: one ``.gguf`` file holding a whole (merged) causal LM: the architecture's hyperparameters,
  every weight under its GGUF name, the tokenizer (:mod:`lightning_lora.models.gguf_tokenizer`) and the chat
  template. transformers reads it back with ``from_pretrained(folder, gguf_file=name)``.
- :func:`write_lora_gguf`: the LoRA adapter alone as a GGUF adapter (``general.type = adapter``, ``adapter.type =
  lora``, ``adapter.lora.alpha``), which llama.cpp applies over the base model's GGUF at load time (``--lora``): each
  adapted weight ``W`` (GGUF name ``N``) gets ``N.lora_a`` (PEFT's ``lora_A``, ``[r, in]``) and ``N.lora_b``
  (``lora_B``, ``[out, r]``), and llama.cpp adds ``alpha / r * B @ A`` to ``W``'s product.

Tensors are stored as llama.cpp's converter stores them: 2-D weights in the chosen type, 1-D ones (norms, biases)
in f32, and a row that ``q8_0`` blocks do not divide in f16. Llama's query and key rows are reordered for
llama.cpp's rotary layout (transformers undoes it when reading). Qwen2 and Llama only; errors name the export
option (``--format gguf``) they come from most often.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from lightning_lora.errors import UserError
from lightning_lora.files import atomic_write
from lightning_lora.models.gguf_tokenizer import add_tokenizer

#: --gguf_type -> the ``gguf.GGMLQuantizationType`` / ``gguf.LlamaFileType`` member names.
GGUF_TYPES = {"f16": ("F16", "MOSTLY_F16"), "bf16": ("BF16", "MOSTLY_BF16"), "f32": ("F32", "ALL_F32"),
              "q8_0": ("Q8_0", "MOSTLY_Q8_0")}
#: transformers ``model_type`` -> ``gguf.MODEL_ARCH`` member: the architectures written and read back here.
ARCHITECTURES = {"qwen2": "QWEN2", "llama": "LLAMA"}


class GGUFExportError(UserError):
    """A GGUF file cannot be written as asked."""


def gguf_module() -> Any:
    """The ``gguf`` package; one line when it is missing."""
    if importlib.util.find_spec("gguf") is None:
        raise GGUFExportError("--format gguf needs the gguf package: pip install gguf (or pip install -e '.[real]').")
    import gguf

    return gguf


def check_gguf_type(gguf_type: str) -> None:
    """Refuse an unknown --gguf_type, and q8_0 where the installed gguf package cannot quantize."""
    if gguf_type not in GGUF_TYPES:
        raise GGUFExportError(f"--gguf_type {gguf_type!r} is not one of {', '.join(GGUF_TYPES)}.")
    gguf = gguf_module()
    quants = getattr(gguf, "quants", None)
    if gguf_type == "q8_0" and not callable(getattr(quants, "quantize", None)):
        version = importlib.metadata.version("gguf")
        raise GGUFExportError(f"--gguf_type q8_0: the gguf package ({version}) has no gguf.quants.quantize; "
                              "pip install -U gguf, or choose f16, bf16 or f32.")


def check_model(model: Any) -> None:
    """Refuse, in one line, a model a GGUF export cannot hold: another architecture, or no causal LM (a PEFT
    wrapper's base is what is checked)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    gguf_arch(base.config)
    if not type(base).__name__.endswith("ForCausalLM"):
        raise GGUFExportError(f"--format gguf writes causal language models; this is a {type(base).__name__}.")


def merged_model(model: Any) -> Any:
    """The whole model with its adapter folded in (PEFT's ``merge_and_unload``, in place: pass a copy to keep the
    model); a model without an adapter is returned as it is."""
    if not hasattr(model, "peft_config"):
        return model
    if not hasattr(model.base_model, "merge_and_unload"):
        peft_type = model.peft_config["default"].peft_type.value
        raise GGUFExportError(f"--format gguf: {peft_type} adapters cannot be merged into the base weights.")
    return model.merge_and_unload()


def gguf_arch(config: Any) -> Any:
    """The ``gguf.MODEL_ARCH`` of a transformers config; one line naming any other architecture."""
    model_type = getattr(config, "model_type", None)
    if model_type not in ARCHITECTURES:
        raise GGUFExportError(f"--format gguf: architecture {model_type!r} is not written by this exporter "
                              f"(it writes {', '.join(ARCHITECTURES)}).")
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if rope.get("rope_type", rope.get("type", "default")) != "default":
        raise GGUFExportError(f"--format gguf: {model_type} with rope scaling {rope.get('rope_type')!r} is not written "
                              "by this exporter (only the default rotary embedding is).")
    return getattr(gguf_module().MODEL_ARCH, ARCHITECTURES[model_type])


def _rope_theta(config: Any) -> float:
    rope = getattr(config, "rope_parameters", None) or {}
    return float(rope.get("rope_theta", getattr(config, "rope_theta", 10000.0)))


def head_dim(config: Any) -> int:
    return int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)


def add_hyperparameters(writer: Any, config: Any) -> None:
    """The architecture keys llama.cpp builds the model from (``<arch>.context_length`` and the rest)."""
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(getattr(config, "num_key_value_heads", None) or config.num_attention_heads)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_rope_dimension_count(head_dim(config))
    if head_dim(config) != config.hidden_size // config.num_attention_heads:
        writer.add_key_length(head_dim(config))
        writer.add_value_length(head_dim(config))
    writer.add_vocab_size(config.vocab_size)


def tensor_name(name_map: Any, hf_name: str) -> str:
    """A transformers parameter's GGUF name: ``model.layers.0.self_attn.q_proj.weight`` -> ``blk.0.attn_q.weight``."""
    stem, _, suffix = hf_name.rpartition(".")
    mapped = name_map.get_name(stem)
    if mapped is None or suffix not in ("weight", "bias"):
        raise GGUFExportError(f"--format gguf: the model's tensor {hf_name} has no GGUF name in this architecture; "
                              "the model has weights llama.cpp would not read.")
    return f"{mapped}.{suffix}"


def rotary_rows(rows: np.ndarray, heads: int) -> np.ndarray:
    """Reorder query/key rows (or a LoRA B) from transformers' half-split rotary layout to llama.cpp's interleaved one:
    per head, row ``i`` of the first half and row ``i`` of the second become rows ``2i`` and ``2i + 1``."""
    half = rows.shape[0] // heads // 2
    return rows.reshape(heads, 2, half, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def gguf_layout(gguf_name: str, rows: np.ndarray, config: Any) -> np.ndarray:
    """A tensor in GGUF's layout: Llama's query and key rows reordered, everything else as it is."""
    if config.model_type == "llama":
        if ".attn_q." in gguf_name:
            return rotary_rows(rows, config.num_attention_heads)
        if ".attn_k." in gguf_name:
            return rotary_rows(rows, getattr(config, "num_key_value_heads", None) or config.num_attention_heads)
    return rows


def encode(array: np.ndarray, gguf_type: str) -> tuple[np.ndarray, Any]:
    """``array`` (float32) in the stored type: (data, ``GGMLQuantizationType``). 1-D stays f32; a row q8_0 blocks
    do not divide goes f16, as llama.cpp's converter does."""
    gguf = gguf_module()
    kind = gguf.GGMLQuantizationType
    wanted = getattr(kind, GGUF_TYPES[gguf_type][0])
    if array.ndim < 2:
        wanted = kind.F32
    elif wanted == kind.Q8_0 and array.shape[-1] % gguf.GGML_QUANT_SIZES[kind.Q8_0][0]:
        wanted = kind.F16
    if wanted == kind.F32:
        return np.ascontiguousarray(array, dtype=np.float32), wanted
    if wanted == kind.F16:
        return np.ascontiguousarray(array.astype(np.float16)), wanted
    return gguf.quants.quantize(np.ascontiguousarray(array), wanted), wanted


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to(device="cpu", dtype=torch.float32).numpy()


def model_tensors(model: Any, arch: Any) -> Iterator[tuple[str, np.ndarray]]:
    """Every weight of a causal LM under its GGUF name, in GGUF's layout (float32); a tied output head once."""
    config = model.config
    name_map = gguf_module().get_tensor_name_map(arch, config.num_hidden_layers)
    tied = model.get_output_embeddings() is not None and (
        model.get_output_embeddings().weight is model.get_input_embeddings().weight)
    for hf_name, tensor in model.state_dict(keep_vars=True).items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reads the embedding matrix as the head when the file has no output.weight
        name = tensor_name(name_map, hf_name)
        yield name, gguf_layout(name, _numpy(tensor), config)


def _new_writer(arch: Any, gguf_type: str, kind: str) -> Any:
    gguf = gguf_module()
    writer = gguf.GGUFWriter(None, gguf.MODEL_ARCH_NAMES[arch])
    writer.add_type(kind)
    writer.add_file_type(getattr(gguf.LlamaFileType, GGUF_TYPES[gguf_type][1]))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    return writer


def _save(writer: Any, output: Path) -> None:
    """Write the file beside ``output`` and rename it into place: a failed export leaves no half-written file."""
    def write(handle: Any) -> None:
        writer.write_header_to_file(Path(handle.name))
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()

    atomic_write(output, write)


def write_model_gguf(model: Any, tokenizer: Any, output: Path, gguf_type: str = "f16",
                     metadata: Callable[[Any], None] | None = None) -> dict[str, str]:
    """Write a whole causal LM (already merged) and its tokenizer as one GGUF file; return {tensor: stored type}.
    ``metadata`` may add keys to the ``GGUFWriter`` before the tensors."""
    check_gguf_type(gguf_type)
    arch = gguf_arch(model.config)
    writer = _new_writer(arch, gguf_type, gguf_module().GGUFType.MODEL)
    if metadata is not None:
        metadata(writer)
    add_hyperparameters(writer, model.config)
    add_tokenizer(writer, tokenizer, model.config.vocab_size)
    stored = {}
    for name, array in model_tensors(model, arch):
        data, kind = encode(array, gguf_type)
        writer.add_tensor(name, data, raw_dtype=kind)
        stored[name] = kind.name
    _save(writer, output)
    return stored


# -- the LoRA adapter alone ------------------------------------------------------------------------------------------
def lora_layers(peft_model: Any) -> list[tuple[str, Any]]:
    """(parameter name of the base weight, LoRA layer) for every adapted linear layer; one line for anything a
    llama.cpp LoRA adapter cannot hold."""
    config = peft_model.peft_config.get("default") if hasattr(peft_model, "peft_config") else None
    peft_type = getattr(getattr(config, "peft_type", None), "value", None)
    if peft_type != "LORA":
        raise GGUFExportError(f"--format gguf-lora exports a LoRA adapter; this model has "
                              f"{f'a {peft_type} adapter' if peft_type else 'no adapter'}. Use --format gguf for the "
                              "whole model.")
    if getattr(config, "use_dora", False):
        raise GGUFExportError("--format gguf-lora: a DoRA adapter's magnitude vectors have no place in a llama.cpp "
                              "LoRA adapter; use --format gguf for the merged model.")
    if getattr(config, "modules_to_save", None) or getattr(config, "bias", "none") != "none":
        raise GGUFExportError("--format gguf-lora: the adapter also trains whole modules or biases "
                              "(modules_to_save / lora.bias), which a llama.cpp LoRA adapter cannot hold; use "
                              "--format gguf for the merged model.")
    from peft.tuners.lora import LoraLayer

    found = []
    for name, module in peft_model.get_base_model().named_modules():
        if not isinstance(module, LoraLayer):
            continue
        a = module.lora_A["default"] if "default" in module.lora_A else None
        if isinstance(a, torch.nn.Linear) and not getattr(module, "fan_in_fan_out", False):  # 4-bit bases included
            found.append((f"{name}.weight", module))
        else:
            raise GGUFExportError(f"--format gguf-lora: {name} ({type(module).__name__}) is adapted, but only linear "
                                  "layers are written to a llama.cpp LoRA adapter; use --format gguf.")
    if not found:
        raise GGUFExportError("--format gguf-lora: the model has no LoRA linear layers.")
    return found


def lora_tensors(peft_model: Any, arch: Any,
                 layers: list[tuple[str, Any]]) -> tuple[float, list[tuple[str, np.ndarray]]]:
    """The adapter's alpha and the tensors of its ``layers`` (:func:`lora_layers`) under GGUF names: ``<base>.lora_a``
    (A, ``[r, in]``) and ``<base>.lora_b`` (B, ``[out, r]``, Llama's query/key rows reordered as the base's are).

    llama.cpp scales every pair by ``alpha / r`` with one alpha for the file; a layer whose PEFT scaling differs
    (rsLoRA, per-layer ranks or alphas) has it folded into its B, so the update is the same.
    """
    config = peft_model.get_base_model().config
    name_map = gguf_module().get_tensor_name_map(arch, config.num_hidden_layers)
    first = layers[0][1]
    alpha = float(first.scaling["default"] * first.r["default"])
    tensors = []
    for hf_name, layer in layers:
        name = tensor_name(name_map, hf_name)
        a, b = _numpy(layer.lora_A["default"].weight), _numpy(layer.lora_B["default"].weight)
        fold = layer.scaling["default"] * layer.r["default"] / alpha
        if fold != 1.0:
            b = b * np.float32(fold)
        tensors += [(f"{name}.lora_a", a), (f"{name}.lora_b", gguf_layout(name, b, config))]
    return alpha, tensors


def write_lora_gguf(peft_model: Any, output: Path, gguf_type: str = "f32",
                    metadata: Callable[[Any], None] | None = None) -> dict[str, str]:
    """Write the LoRA adapter of ``peft_model`` as a llama.cpp GGUF adapter; return {tensor: stored type}.
    ``metadata`` may add keys to the ``GGUFWriter`` before the tensors."""
    check_gguf_type(gguf_type)
    layers = lora_layers(peft_model)
    arch = gguf_arch(peft_model.get_base_model().config)
    alpha, tensors = lora_tensors(peft_model, arch, layers)
    gguf = gguf_module()
    writer = _new_writer(arch, gguf_type, gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    if metadata is not None:
        metadata(writer)
    stored = {}
    for name, array in tensors:
        data, kind = encode(array, gguf_type)
        writer.add_tensor(name, data, raw_dtype=kind)
        stored[name] = kind.name
    _save(writer, output)
    return stored

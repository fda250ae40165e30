"""Linear weights laid out for decoding on the CPU: prepacked for oneDNN, or column-major in float32.

``F.linear`` in bfloat16 hands each product to oneDNN, which first reorders the weight into its blocked layout:
every call, every decoding pass. :func:`prepacked_linears` reorders each weight once
(``torch.ops.mkldnn._reorder_linear_weight``) and has the layers multiply with it. On the 2-core AMX Xeon of this
project the 72 MLP products of the real Qwen2.5-Coder-0.5B took 31 ms instead of 48 ms at 16 rows and 38 ms instead
of 70 ms at 48 in bfloat16, bit-equal to ``F.linear``; in float32 82 ms instead of 105 ms at 16 rows (MKL's sgemm
on row-major weights), equal to float32 rounding, not bit for bit. Each time, one layer per dtype is checked first
and nothing is packed where the check fails.

Without oneDNN, :func:`column_major_linears` stores float32 weights column-major (``W.t().contiguous().t()``):
another sgemm path, 1.3-1.5x as fast as row-major for 4-64 rows on that host, also equal to float32 rounding only.
Both keep the ``Parameter`` objects (optimizers, tied embeddings and hooks see the same parameters) and restore
them after. :func:`fast_linears` applies both. How the refill engine's answers compare with ``generate``'s under
them, measured on real prompts: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch


def _linear_weights(model: Any) -> list[torch.nn.Parameter]:
    """The distinct 2-D float32 CPU weights of the model's ``nn.Linear`` layers (a tied weight once), but for
    layers with a forward of their own (:func:`prepacked_linears`)."""
    seen: dict[int, torch.nn.Parameter] = {}
    for module in model.modules():
        weight = (getattr(module, "weight", None) if isinstance(module, torch.nn.Linear)
                  and "forward" not in vars(module) else None)
        if (isinstance(weight, torch.nn.Parameter) and weight.dim() == 2 and weight.dtype == torch.float32
                and weight.device.type == "cpu" and weight.is_contiguous()):
            seen.setdefault(id(weight), weight)
    return list(seen.values())


@contextmanager
def column_major_linears(model: Any) -> Iterator[int]:
    """Within the block the model's float32 CPU linear weights are stored column-major (same values); yields how
    many were switched. The switch and the switch back run outside inference mode, so a model trained after
    (the benchmark callback generates between training steps) gets ordinary tensors back."""
    weights = _linear_weights(model)
    with torch.inference_mode(False), torch.no_grad():
        for weight in weights:
            weight.data = weight.data.t().contiguous().t()
    try:
        yield len(weights)
    finally:
        with torch.inference_mode(False), torch.no_grad():
            for weight in weights:
                weight.data = weight.data.contiguous()


#: The weight dtypes whose products oneDNN computes from a prepacked weight.
_PACKABLE = (torch.bfloat16, torch.float32)


def _packable_linears(model: Any) -> list[torch.nn.Linear]:
    """The model's ``nn.Linear`` layers with a 2-D bfloat16 or float32 CPU weight (LoRA's base layers and adapters
    included), but for subclasses with a forward of their own (replacing it would change what they compute)."""
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)
            and type(m).forward is torch.nn.Linear.forward and m.weight.dim() == 2
            and m.weight.dtype in _PACKABLE and m.weight.device.type == "cpu"]


def _packed_forward(layer: torch.nn.Linear, packed: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``layer``'s forward multiplying with its prepacked weight (plain ``F.linear`` for another input dtype or
    device, or with gradients on)."""
    def forward(x: torch.Tensor) -> torch.Tensor:
        if x.dtype != layer.weight.dtype or x.device.type != "cpu" or torch.is_grad_enabled():
            return torch.nn.functional.linear(x, layer.weight, layer.bias)
        return torch.ops.mkldnn._linear_pointwise(x, packed, layer.bias, "none", [], "")
    return forward


def _pack(weight: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), 16)


def _packing_agrees(layer: torch.nn.Linear) -> bool:
    """Whether the prepacked product matches ``F.linear``'s on a few random rows of ``layer``: bit for bit in
    bfloat16, to float32 rounding in float32."""
    try:
        x = torch.randn(3, 5, layer.in_features, generator=torch.Generator().manual_seed(0)).to(layer.weight.dtype)
        with torch.no_grad():
            packed = _packed_forward(layer, _pack(layer.weight))(x)
            plain = torch.nn.functional.linear(x, layer.weight, layer.bias)
    except (RuntimeError, AttributeError):  # a torch without oneDNN or its kernels for this dtype
        return False
    if layer.weight.dtype == torch.bfloat16:
        return torch.equal(packed, plain)
    return bool((packed - plain).abs().max() <= 1e-5 * plain.abs().max().clamp(min=1.0))


@contextmanager
def prepacked_linears(model: Any) -> Iterator[int]:
    """Within the block (no gradients) the model's bfloat16 and float32 CPU linear layers multiply with weights
    prepacked for oneDNN (checked on one layer per dtype first: bit-equal to ``F.linear`` in bfloat16, equal to
    float32 rounding in float32); yields how many layers were switched (0 where oneDNN is absent or a check fails).
    The packed copies cost the weights' memory once more while the block runs."""
    layers = _packable_linears(model)
    agrees = {dtype: torch.backends.mkldnn.is_available() and _packing_agrees(next(m for m in layers
                                                                                     if m.weight.dtype == dtype))
              for dtype in {m.weight.dtype for m in layers}}
    layers = [m for m in layers if agrees[m.weight.dtype]]
    with torch.no_grad():
        for layer in layers:
            layer.forward = _packed_forward(layer, _pack(layer.weight))
    try:
        yield len(layers)
    finally:
        for layer in layers:
            del layer.forward


@contextmanager
def fast_linears(model: Any) -> Iterator[int]:
    """The weight layout for decoding ``model`` on the CPU: :func:`prepacked_linears`, and
    :func:`column_major_linears` for float32 layers oneDNN did not take; nothing under autocast, where the weights
    are not what the products compute in. Yields how many layers were switched."""
    if torch.is_autocast_enabled("cpu"):
        yield 0
        return
    with prepacked_linears(model) as packed, column_major_linears(model) as columns:
        yield packed + columns

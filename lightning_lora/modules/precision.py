"""Reduced-precision training helpers: a chunked LM-head cross-entropy, adapter input casts, bf16 detection.

With a bf16 base model under ``trainer.precision: bf16-mixed`` the matmuls run on the CPU's bf16
matrix units (AMX, AVX-512 BF16) or a GPU's tensor cores, while adapters, their gradients, the
optimizer state and the loss stay fp32. What is left then is memory traffic: the LM head's logits
(targets x vocab, 150 MB per 768 targets of a 49K vocabulary in fp32) and casts. This module
removes both.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

#: Rows of logits computed at a time by :func:`linear_cross_entropy`: 128 x a 49K vocabulary is 25 MB of fp32
#: scratch instead of the whole logits tensor; 64 to 256 rows measured alike (benchmarks/RESULTS.md).
CHUNK_ROWS = 128


@functools.lru_cache(maxsize=None)
def cpu_has_bf16_matmul() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AMX or AVX-512 BF16, from /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


class _LinearCrossEntropy(torch.autograd.Function):
    """Sum of cross-entropies of ``hidden @ weight.T`` against ``targets``; gradients computed chunk by chunk
    in the forward, so the full logits never exist."""

    @staticmethod
    def forward(ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk: int,
                compute_dtype: torch.dtype) -> torch.Tensor:
        need_input, need_weight = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        w = weight.to(compute_dtype)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad_hidden = torch.empty_like(hidden) if need_input else None
        grad_weight = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_weight else None
        for start in range(0, hidden.shape[0], chunk):
            h = hidden[start:start + chunk].to(compute_dtype)
            t = targets[start:start + chunk]
            log_probs = torch.log_softmax((h @ w.T).float(), dim=-1)
            total -= log_probs.gather(1, t[:, None]).sum()
            if need_input or need_weight:
                # d(sum CE)/d logits = softmax - one_hot, formed in place on the chunk's log-probabilities.
                grad = log_probs.exp_()
                grad[torch.arange(t.shape[0], device=t.device), t] -= 1.0
                grad = grad.to(compute_dtype)
                if need_input:
                    grad_hidden[start:start + chunk] = (grad @ w).to(hidden.dtype)
                if need_weight:
                    grad_weight += (grad.T @ h).float()
        ctx.grads = (grad_hidden, grad_weight)  # intermediates, not inputs: kept on ctx
        ctx.weight_dtype = weight.dtype
        return total

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad_hidden, grad_weight = ctx.grads
        ctx.grads = None
        grad_hidden = grad_hidden * grad_output.to(grad_hidden.dtype) if grad_hidden is not None else None
        grad_weight = (grad_weight * grad_output).to(ctx.weight_dtype) if grad_weight is not None else None
        return grad_hidden, grad_weight, None, None, None


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                         chunk: int = CHUNK_ROWS) -> torch.Tensor:
    """``cross_entropy(hidden @ weight.T, targets, reduction="sum")`` in fp32, without materialising the logits.

    ``hidden`` is ``(N, width)`` (the target positions only), ``weight`` the LM head's ``(vocab, width)``.
    The matmuls run in the autocast dtype when autocast is on, else in the weight's dtype; the
    log-sum-exp, the loss and its sum are fp32. Gradients are formed in the forward, ``chunk`` rows at a
    time, and scaled by the incoming gradient in the backward: one pass over the head instead of three,
    and about ``chunk x vocab`` floats of scratch memory instead of ``N x vocab``.
    """
    device_type = hidden.device.type
    compute_dtype = torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else weight.dtype
    with torch.autocast(device_type, enabled=False):
        return _LinearCrossEntropy.apply(hidden, weight, targets, chunk, compute_dtype)


@contextlib.contextmanager
def adapter_input_cast(model: torch.nn.Module, enabled: bool) -> Iterator[None]:
    """Within the block, turn PEFT's cast of each adapter's input to the adapter's dtype on or off.

    PEFT casts a bf16 activation to the fp32 adapter's dtype before the adapter's matmul; under
    autocast that matmul then casts it back to bf16: two copies of the activation per adapted layer.
    Off is only right under autocast (without it, an fp32 adapter needs an fp32 input), so the
    setting is restored when the block ends: generation after training runs without autocast.
    """
    layers = getattr(model, "_lightning_lora_tuner_layers", None)
    if layers is None:
        from peft.tuners.tuners_utils import BaseTunerLayer

        # Only the tuner layers that have the switch (LoRA's do; IA3's, for one, do not cast at all).
        layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer) and hasattr(m, "cast_input_dtype_enabled")]
        model._lightning_lora_tuner_layers = layers
    before = [layer.cast_input_dtype_enabled for layer in layers]
    for layer in layers:
        layer.cast_input_dtype_enabled = enabled
    try:
        yield
    finally:
        for layer, value in zip(layers, before):
            layer.cast_input_dtype_enabled = value


class FastDropout(torch.nn.Dropout):
    """``nn.Dropout`` whose CPU mask comes from 16 random bits per element instead of a Bernoulli draw.

    On this project's CPU, ``F.dropout`` costs 6.5 ms on a 1024 x 576 fp32 activation and 17 ms in bf16;
    this mask costs 3 ms in both. With LoRA dropout every adapted projection draws its own mask, 7 per
    layer, which made dropout the largest single cost of a bf16 step (benchmarks/RESULTS.md). The drop
    probability is rounded to a multiple of 1/65536 (0.1 becomes 0.100006); kept values are scaled by
    ``1 / (1 - p)`` as in ``nn.Dropout``. Elsewhere than on the CPU it is ``nn.Dropout``.
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or input.device.type != "cpu" or self.p >= 1.0:
            return super().forward(input)
        half = (input.numel() + 1) // 2
        bits = torch.randint(-2**31, 2**31, (half,), dtype=torch.int32).view(torch.int16)[:input.numel()]
        keep = bits.view(input.shape) >= round(self.p * 65536) - 32768
        return torch.where(keep, input * (1.0 / (1.0 - self.p)), 0.0)


def use_fast_adapter_dropout(model: torch.nn.Module) -> int:
    """Replace PEFT's LoRA dropout modules (``lora_dropout``) by :class:`FastDropout`; returns how many."""
    replaced = 0
    for module in model.modules():
        dropouts = getattr(module, "lora_dropout", None)
        if not isinstance(dropouts, torch.nn.ModuleDict):
            continue
        for name, dropout in dropouts.items():
            if type(dropout) is torch.nn.Dropout:
                dropouts[name] = FastDropout(dropout.p)
                replaced += 1
    return replaced

"""Column-major linear weights for decoding a float32 model on the CPU.

``F.linear(x, W)`` with ``W`` stored row-major (``[out, in]``, as PyTorch keeps it) multiplies a few rows of ``x``
through one sgemm path; with the same values stored column-major (``W.t().contiguous().t()``) it takes another,
which on the 2-core AMX Xeon of this project was 1.3-1.5x as fast for 4-64 rows (the decoding batch). The products
agree up to float32 rounding, not always bit for bit (another summation order in some shapes); the refill engine's
164 greedy HumanEval answers of the real Qwen2.5-Coder-0.5B stayed identical to ``generate``'s with it, and the
engine went from 1.61x to 1.74x ``generate`` (``benchmarks/RESULTS.md``, session 11). :func:`column_major_linears`
switches every float32 CPU linear
weight of a model to that layout for a block and back after, keeping the ``Parameter`` objects (optimizers, tied
embeddings and hooks see the same parameters).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch


def _linear_weights(model: Any) -> list[torch.nn.Parameter]:
    """The distinct 2-D float32 CPU weights of the model's ``nn.Linear`` layers (a tied weight once)."""
    seen: dict[int, torch.nn.Parameter] = {}
    for module in model.modules():
        weight = getattr(module, "weight", None) if isinstance(module, torch.nn.Linear) else None
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

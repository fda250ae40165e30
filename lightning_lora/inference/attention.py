"""Attention for batched decoding on grouped-query models without copying the KV cache.

``transformers``' SDPA path repeats each key/value head for its group of query heads whenever several query
positions come with a mask (a drafted step, a left-padded prefill): a copy of the whole cache in every layer of
every step. Here the query heads of a group are folded into the query length instead, so the kernel reads each
key/value head once; the arithmetic is the same dot products and softmax. One query position, no mask, or no
grouping: ``transformers``' own SDPA function, unchanged.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch

#: The name this attention is registered under with ``transformers``.
PACKED_SDPA = "lightning_lora_packed_sdpa"


def packed_sdpa_attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                          attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                          is_causal: bool | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """SDPA with the query heads of each key/value group packed along the query length (shapes as transformers'
    attention functions: query ``[batch, heads, q, dim]``, key/value ``[batch, kv_heads, k, dim]``)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    groups = getattr(module, "num_key_value_groups", 1)
    batch, heads, length, dim = query.shape
    if (groups == 1 or length == 1 or attention_mask is None or attention_mask.dtype != torch.bool
            or attention_mask.shape[1] != 1 or kwargs.get("position_bias") is not None or kwargs.get("softcap")
            or key.shape[-1] != value.shape[-1]):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    packed = query.reshape(batch, heads // groups, groups * length, dim)
    mask = attention_mask.repeat(1, 1, groups, 1)
    out = torch.nn.functional.scaled_dot_product_attention(packed, key, value, attn_mask=mask, dropout_p=dropout,
                                                           scale=scaling)
    return out.reshape(batch, heads, length, dim).transpose(1, 2).contiguous(), None


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(PACKED_SDPA, packed_sdpa_attention)
    AttentionMaskInterface.register(PACKED_SDPA, sdpa_mask)


@contextmanager
def packed_attention(model: Any) -> Iterator[None]:
    """Within the block, every part of ``model`` that uses ``transformers``' SDPA uses :func:`packed_sdpa_attention`
    (the same masks); restored after."""
    _register()
    configs = {id(m.config): m.config for m in model.modules()
               if getattr(getattr(m, "config", None), "_attn_implementation", None) == "sdpa"}
    for config in configs.values():
        config._attn_implementation = PACKED_SDPA
    try:
        yield
    finally:
        for config in configs.values():
            config._attn_implementation = "sdpa"

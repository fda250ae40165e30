"""The ragged layout of a drafted pass (``lightning_lora/inference/attention.py``): packed tokens padded per row and
back, and which cache columns and pass tokens each token attends."""

from __future__ import annotations

import torch

from lightning_lora.inference.attention import RaggedLayout


def test_tokens_pad_per_row_and_pack_back():
    layout = RaggedLayout([1, 3, 2], torch.ones(3, 5, dtype=torch.long))
    packed = torch.arange(1 * 2 * 6 * 1, dtype=torch.float).reshape(1, 2, 6, 1)  # [1, heads, tokens, dim]
    padded = layout.pad(packed)
    assert padded.shape == (3, 2, 3, 1)
    assert padded[0, 0, :, 0].tolist() == [0, 0, 0]  # row 0: its one token (value 0), then padding
    assert padded[1, 1, :, 0].tolist() == [7, 8, 9]  # row 1, head 1: tokens 1-3
    assert padded[2, 0, :, 0].tolist() == [4, 5, 0]  # row 2: tokens 4-5, then padding
    assert torch.equal(layout.unpad(padded), packed.transpose(1, 2))  # [1, tokens, heads, dim]


def test_a_token_attends_its_rows_cache_and_its_own_earlier_tokens():
    # 2 cache columns (row 0 attends only the second) then the pass's 2 columns
    key_mask = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]])
    mask = RaggedLayout([2, 1], key_mask).mask
    assert mask.shape == (2, 1, 2, 4)
    assert mask[0, 0].tolist() == [[False, True, True, False], [False, True, True, True]]
    assert mask[1, 0, 0].tolist() == [True, True, True, False]


def test_the_cache_grows_in_place_and_takes_over_tensors_set_from_outside():
    from lightning_lora.inference.attention import RaggedCache

    torch.manual_seed(0)
    cache = RaggedCache()
    first, second, third = (torch.randn(2, 3, n, 4) for n in (5, 1, 2))
    cache.update(first, first + 1, 0)
    keys, values = cache.update(second, second + 1, 0)  # moves into a buffer with room
    start = keys.data_ptr()
    keys, values = cache.update(third, third + 1, 0)  # written into the room: no copy of the cache
    assert keys.data_ptr() == start and not keys.is_contiguous()
    expected = torch.cat([first, second, third], dim=2)
    assert torch.equal(keys, expected) and torch.equal(values, expected + 1)
    layer = cache.layers[0]
    layer.keys, layer.values = layer.keys[1:], layer.values[1:]  # a row dropped from outside (a finished answer)
    keys, values = cache.update(first[1:, :, :1], first[1:, :, :1] + 1, 0)
    assert torch.equal(keys, torch.cat([expected[1:], first[1:, :, :1]], dim=2))
    assert torch.equal(values, torch.cat([expected[1:], first[1:, :, :1]], dim=2) + 1)
    assert cache.get_seq_length() == 9

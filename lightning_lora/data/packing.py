"""Less padding in training batches: length-grouped batches, and several samples packed into one row.

Two independent tools for the training loader (options ``data.group_by_length`` and ``data.pack`` of
:class:`~lightning_lora.data.base.BaseDataModule`); both keep ``batch_size`` samples per step, so the
number of steps, the schedule and the token-weighted loss mean the same as without them.

- length grouping (:class:`~lightning_lora.data.sampling.TrainingBatchSampler` given the lengths)
  sorts each shuffled mega-batch by length and cuts it into batches: a batch holds samples of
  similar length, so padding to its longest costs little.
- :func:`pack_batch` puts the samples of one batch into as few rows as fit its longest sample
  (first-fit decreasing). Each sample keeps its own positions (``position_ids`` restart at 0) and
  attends only to itself: transformers builds a block-diagonal causal mask from position ids that
  restart when no 2-D attention mask is given (SDPA and eager attention), and flash-attention uses
  its varlen kernel from the same position ids. The first label of every sample is -100, so no
  token is trained to predict the start of the next sample; a packed batch gives the same loss as
  the unpacked one. Not every model builds its mask from position ids: :func:`packing_leak`
  measures, on the model itself, whether a packed sample sees the one before it.

A packed batch has ``input_ids``, ``labels``, ``position_ids``, ``padding_mask`` (1 on real tokens)
and ``idx`` (the samples' indices), and deliberately no ``attention_mask``: a 2-D mask passed to
the model would switch off the per-sample attention.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from lightning_lora.data.base import IGNORE_INDEX


def first_fit_decreasing(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Group item positions into bins of at most ``capacity`` total length, longest items first."""
    bins: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        if lengths[i] > capacity:
            raise ValueError(f"item of length {lengths[i]} exceeds the bin capacity {capacity}")
        for b, free in enumerate(room):
            if lengths[i] <= free:
                bins[b].append(i)
                room[b] -= lengths[i]
                break
        else:
            bins.append([i])
            room.append(capacity - lengths[i])
    return bins


def pack_batch(rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pack tokenized rows (``input_ids``, ``labels``, ``idx``) into rows as long as the longest one.

    Padding continues the positions of its row's last sample (never attended by a real token, label
    -100), so a batch in which no row holds two samples stays an ordinary causal batch.
    """
    lengths = [len(r["input_ids"]) for r in rows]
    width = max(lengths)
    bins = first_fit_decreasing(lengths, width)
    input_ids = torch.full((len(bins), width), pad_id, dtype=torch.long)
    labels = torch.full((len(bins), width), IGNORE_INDEX, dtype=torch.long)
    position_ids = torch.zeros((len(bins), width), dtype=torch.long)
    padding_mask = torch.zeros((len(bins), width), dtype=torch.long)
    for b, members in enumerate(bins):
        offset = 0
        for i in members:
            n = lengths[i]
            input_ids[b, offset:offset + n] = torch.tensor(rows[i]["input_ids"])
            labels[b, offset:offset + n] = torch.tensor(rows[i]["labels"])
            labels[b, offset] = IGNORE_INDEX  # never predicted from the previous sample's last token
            position_ids[b, offset:offset + n] = torch.arange(n)
            padding_mask[b, offset:offset + n] = 1
            offset += n
        last = lengths[members[-1]]
        position_ids[b, offset:] = torch.arange(last, last + width - offset)
    return {"input_ids": input_ids, "labels": labels, "position_ids": position_ids, "padding_mask": padding_mask,
            "idx": torch.tensor([rows[i]["idx"] for members in bins for i in members], dtype=torch.long)}


def real_token_mask(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """1 on the real (non-pad) tokens of a packed or ordinary batch."""
    return batch["padding_mask"] if "padding_mask" in batch else batch["attention_mask"]


def is_packed(batch: dict[str, Any]) -> bool:
    """Whether ``batch`` comes from :func:`pack_batch` (position ids given, no 2-D attention mask)."""
    return "position_ids" in batch and "attention_mask" not in batch


def packing_leak(model: torch.nn.Module, vocab_size: int, lengths: tuple[int, int] = (7, 5)) -> float:
    """How much a sample's logits change when it is packed after another sample in one row.

    0 (up to rounding) when the model keeps attention within packed samples; a model whose mask
    ignores restarting ``position_ids`` (e.g. OPT, Falcon, Bloom in transformers 5), or a PEFT
    prompt-learning method that drops them, lets the second sample see the first. Runs in eval
    mode without gradients and draws from its own generator, not the global random stream.
    Returns the largest absolute logit difference divided by the largest logit magnitude.
    """
    generator = torch.Generator().manual_seed(0)
    first, second = (torch.randint(0, max(2, min(vocab_size, 1000)), (n,), generator=generator) for n in lengths)
    device = next(model.parameters()).device
    packed_ids = torch.cat([first, second])[None].to(device)
    packed_positions = torch.cat([torch.arange(lengths[0]), torch.arange(lengths[1])])[None].to(device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            packed = model(input_ids=packed_ids, position_ids=packed_positions, use_cache=False).logits
            alone = model(input_ids=second[None].to(device), position_ids=torch.arange(lengths[1])[None].to(device),
                          use_cache=False).logits
    finally:
        model.train(was_training)
    packed, alone = packed[0, -lengths[1]:].float(), alone[0, -lengths[1]:].float()
    return float((packed - alone).abs().max() / alone.abs().max().clamp(min=1e-6))

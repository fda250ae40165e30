"""Batches from tokenized rows: padding to the longest row, packing several samples into one row, and
the label value that takes no loss. A leaf module: data modules, task modules and callbacks all import it.

:func:`pack_batch` puts the samples of one batch into as few rows as fit its longest sample
(first-fit decreasing). Each sample keeps its own positions (``position_ids`` restart at 0) and
attends only to itself (see :mod:`lightning_lora.data.packing` for why and how that is checked). A
packed batch has ``input_ids``, ``labels``, ``position_ids``, ``padding_mask`` (1 on real tokens) and
``idx`` (the samples' indices), and deliberately no ``attention_mask``: a 2-D mask passed to the
model would switch off the per-sample attention.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

#: Label of a position that takes no loss (prompt, padding): the ``ignore_index`` of PyTorch's cross-entropy.
IGNORE_INDEX = -100


def pad_sequences(sequences: list[list[int]], value: int, side: str = "right") -> torch.Tensor:
    """Stack lists of ints into one tensor, padded with ``value`` on ``side`` to the longest."""
    width = max(len(seq) for seq in sequences)
    out = torch.full((len(sequences), width), value, dtype=torch.long)
    for i, seq in enumerate(sequences):
        if seq:
            if side == "right":
                out[i, : len(seq)] = torch.tensor(seq)
            else:
                out[i, width - len(seq):] = torch.tensor(seq)
    return out


def pad_batch(rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad tokenized rows (``input_ids``, ``labels``, ``idx``) to the longest of the batch; pad labels are -100."""
    return {
        "input_ids": pad_sequences([r["input_ids"] for r in rows], pad_id),
        "attention_mask": pad_sequences([[1] * len(r["input_ids"]) for r in rows], 0),
        "labels": pad_sequences([r["labels"] for r in rows], IGNORE_INDEX),
        "idx": torch.tensor([r["idx"] for r in rows], dtype=torch.long),
    }


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

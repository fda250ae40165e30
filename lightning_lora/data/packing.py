"""Less padding in training batches: length-grouped batches, and several samples packed into one row.

Two independent tools for the training loader (options ``data.group_by_length`` and ``data.pack`` of
:class:`~lightning_lora.data.base.BaseDataModule`); both keep ``batch_size`` samples per step, so the
number of steps, the schedule and the token-weighted loss mean the same as without them.

- :class:`LengthGroupedBatchSampler` takes the shuffled order of an ordinary sampler, sorts each
  mega-batch of up to ``batch_size * MEGA_BATCH_FACTOR`` samples by length and cuts it into
  batches: a batch holds samples of similar length, so padding to its longest costs little.
- :func:`pack_batch` puts the samples of one batch into as few rows as fit its longest sample
  (first-fit decreasing). Each sample keeps its own positions (``position_ids`` restart at 0) and
  attends only to itself: transformers builds a block-diagonal causal mask from position ids that
  restart when no 2-D attention mask is given (SDPA and eager attention), and flash-attention uses
  its varlen kernel from the same position ids. The first label of every sample is -100, so no
  token is trained to predict the start of the next sample; a packed batch gives the same loss as
  the unpacked one.

A packed batch has ``input_ids``, ``labels``, ``position_ids``, ``padding_mask`` (1 on real tokens)
and ``idx`` (the samples' indices), and deliberately no ``attention_mask``: a 2-D mask passed to
the model would switch off the per-sample attention.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import torch
from torch.utils.data import BatchSampler, Sampler

from lightning_lora.data.base import IGNORE_INDEX

#: Mega-batch size in batches, as in the Hugging Face Trainer: big enough that the batches cut from a
#: sorted mega-batch are nearly uniform in length; and an epoch has at least 4 mega-batches, so a
#: small dataset is not cut into the same batches every epoch.
MEGA_BATCH_FACTOR = 50
MIN_MEGA_BATCHES = 4


class LengthGroupedBatchSampler(BatchSampler):
    """Batches of similar length from the order of ``sampler``, seeded and deterministic.

    The batches of each mega-batch are shuffled with a generator seeded by ``seed`` and the epoch,
    and the batch holding the longest sample goes first, so running out of memory shows at step 0.
    Lightning swaps ``sampler`` for a distributed one under DDP (the argument keeps that name for it).

    Args:
        sampler: the shuffled index order to group (a ``RandomSampler`` with a seeded generator).
        batch_size: samples per batch.
        drop_last: drop a last batch smaller than ``batch_size``.
        lengths: length of every sample of the dataset, by dataset index.
        seed: seed of the batch order.
    """

    def __init__(self, sampler: Sampler[int], batch_size: int, drop_last: bool, lengths: Sequence[int],
                 seed: int = 0) -> None:
        super().__init__(sampler, batch_size, drop_last)
        self.lengths = lengths
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before every epoch: a new batch order per epoch, the same on every run."""
        self.epoch = epoch
        if callable(getattr(self.sampler, "set_epoch", None)):  # the DistributedSampler Lightning puts in under DDP
            self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        indices = list(self.sampler)
        mega = self.batch_size * max(1, min(MEGA_BATCH_FACTOR, len(indices) // (MIN_MEGA_BATCHES * self.batch_size)))
        batches: list[list[int]] = []
        for start in range(0, len(indices), mega):
            chunk = sorted(indices[start:start + mega], key=lambda i: -self.lengths[i])
            batches += [chunk[k:k + self.batch_size] for k in range(0, len(chunk), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if not batches:
            return
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        longest = max(range(len(batches)), key=lambda b: self.lengths[batches[b][0]])
        batches[0], batches[longest] = batches[longest], batches[0]
        yield from batches


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

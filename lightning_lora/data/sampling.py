"""The training batch order: seeded per epoch, sharded across processes, resumable mid-epoch.

:class:`TrainingBatchSampler` replaces both the shuffling sampler and Lightning's
``DistributedSampler``. Its order depends only on the seed, the epoch, the process rank and the
number of processes, never on the global random state, so a run killed at any step and resumed
from its checkpoint sees exactly the batches the uninterrupted run would have seen:
:meth:`TrainingBatchSampler.start_at` skips the batches the checkpoint already trained on.

Under ``N`` processes, the epoch's permutation is cut so that step ``s`` of rank ``r`` holds the
samples ``r, r+N, r+2N, ...`` of the ``s``-th global batch of ``N * batch_size`` samples: the
processes together train on exactly the samples a single process with ``N`` times the batch size
would, step by step.
"""

from __future__ import annotations

import itertools
from typing import Iterator, Sequence

import torch
from torch.utils.data import Sampler

#: Mega-batch size in batches for length grouping, as in the Hugging Face Trainer: big enough that
#: batches cut from a sorted mega-batch are nearly uniform in length; and an epoch has at least 4
#: mega-batches, so a small dataset is not cut into the same batches every epoch.
MEGA_BATCH_FACTOR = 50
MIN_MEGA_BATCHES = 4


class TrainingBatchSampler(Sampler[list[int]]):
    """Batches of dataset indices for one process, deterministic given (seed, epoch, rank).

    Args:
        num_samples: size of the dataset.
        batch_size: samples per batch on this process.
        shuffle: a new seeded permutation every epoch; off, the dataset's order.
        seed: seed of the permutation and of the length-grouped batch order.
        lengths: sample lengths by index; given, batches group samples of similar length
            (shuffled mega-batches sorted by length) and the batch holding the longest sample goes
            first, so running out of memory shows at step 0.
        rank: this process's rank.
        world_size: number of processes; with more than one, a global batch short of
            ``batch_size * world_size`` samples (the last of an epoch whose size is not a multiple)
            is filled by repeating samples from the start of the epoch, so that every process takes
            the same number of steps; a single process just gets a smaller batch. Only that batch
            differs from a single process with ``world_size`` times the batch size.
    """

    def __init__(self, num_samples: int, batch_size: int, *, shuffle: bool = True, seed: int = 0,
                 lengths: Sequence[int] | None = None, rank: int = 0, world_size: int = 1) -> None:
        if num_samples < 1 or batch_size < 1:
            raise ValueError(f"num_samples and batch_size must be positive, got {num_samples} and {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world_size {world_size}")
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.lengths = lengths
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self._start: tuple[int, int] | None = None  # (epoch, batches to skip)

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before every epoch (through :attr:`sampler`)."""
        self.epoch = epoch

    @property
    def sampler(self) -> TrainingBatchSampler:
        """Lightning sets the epoch on ``loader.sampler`` and ``loader.batch_sampler.sampler``: this is the latter."""
        return self

    def start_at(self, epoch: int, batches_done: int) -> None:
        """Resume in ``epoch``: it becomes the current epoch (loader workers may iterate before
        Lightning sets it), and its first ``batches_done`` batches are skipped once."""
        self.epoch = epoch
        self._start = (epoch, batches_done)

    def __len__(self) -> int:
        return -(-self.num_samples // (self.batch_size * self.world_size))

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """All of this process's batches of ``epoch``, in order."""
        order = self._permutation(epoch)
        size = self.batch_size * self.world_size
        if self.lengths is not None:
            batches = self._grouped(order, epoch)
        else:
            batches = [order[k:k + size] for k in range(0, len(order), size)]
        if self.world_size > 1:  # equal steps on every process: a short global batch repeats samples
            filler = itertools.cycle(order)
            batches = [batch + [next(filler) for _ in range(size - len(batch))] for batch in batches]
        return [batch[self.rank::self.world_size] for batch in batches]

    def __iter__(self) -> Iterator[list[int]]:
        epoch, skip = self.epoch, 0
        if self._start is not None and self._start[0] == epoch:
            skip = self._start[1]
            self._start = None
        yield from self.epoch_batches(epoch)[skip:]

    def _permutation(self, epoch: int) -> list[int]:
        if not self.shuffle:
            return list(range(self.num_samples))
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.num_samples, generator=generator).tolist()

    def _grouped(self, order: list[int], epoch: int) -> list[list[int]]:
        """Global batches of similar length: shuffled mega-batches sorted by length, cut, shuffled."""
        lengths = self.lengths
        size = self.batch_size * self.world_size
        mega = size * max(1, min(MEGA_BATCH_FACTOR, len(order) // (MIN_MEGA_BATCHES * size)))
        batches: list[list[int]] = []
        for start in range(0, len(order), mega):
            chunk = sorted(order[start:start + mega], key=lambda i: -lengths[i])
            batches += [chunk[k:k + size] for k in range(0, len(chunk), size)]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch + 7_919)
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        longest = max(range(len(batches)), key=lambda b: max(lengths[i] for i in batches[b]))
        batches[0], batches[longest] = batches[longest], batches[0]
        return batches

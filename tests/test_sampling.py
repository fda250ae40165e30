"""The training batch order: seeded, sharded like one big batch, resumable mid-epoch."""

from __future__ import annotations

import pytest

from lightning_lora.data.sampling import TrainingBatchSampler


def _epoch(sampler: TrainingBatchSampler, epoch: int) -> list[list[int]]:
    sampler.set_epoch(epoch)
    return list(sampler)


def test_order_is_seeded_per_epoch_and_covers_every_sample_once():
    sampler = TrainingBatchSampler(50, 8, seed=3)
    first = _epoch(sampler, 0)
    assert first == _epoch(TrainingBatchSampler(50, 8, seed=3), 0)
    assert first != _epoch(sampler, 1) and first != _epoch(TrainingBatchSampler(50, 8, seed=4), 0)
    assert sorted(i for b in first for i in b) == list(range(50))
    assert [len(b) for b in first] == [8] * 6 + [2] and len(sampler) == 7


def test_unshuffled_order_is_the_dataset_order():
    assert _epoch(TrainingBatchSampler(5, 2, shuffle=False), 0) == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("group", [False, True])
def test_two_processes_take_together_the_samples_of_one_process_with_twice_the_batch(group):
    lengths = [(i * 37) % 101 + 1 for i in range(64)]
    kwargs = {"seed": 1, "lengths": lengths if group else None}
    single = _epoch(TrainingBatchSampler(64, 16, **kwargs), 2)
    ranks = [_epoch(TrainingBatchSampler(64, 8, rank=r, world_size=2, **kwargs), 2) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(single) == 4
    for step, batch in enumerate(single):
        assert sorted(ranks[0][step] + ranks[1][step]) == sorted(batch)
        assert not set(ranks[0][step]) & set(ranks[1][step])


def test_uneven_data_gives_every_process_the_same_number_of_full_batches():
    ranks = [_epoch(TrainingBatchSampler(21, 4, rank=r, world_size=3), 0) for r in range(3)]
    assert [len(r) for r in ranks] == [2, 2, 2]
    assert all(len(b) == 4 for r in ranks for b in r)
    assert set(i for r in ranks for b in r for i in b) == set(range(21))  # 3 samples repeated to fill


def test_start_at_skips_trained_batches_once_and_only_in_its_epoch():
    whole = _epoch(TrainingBatchSampler(40, 4, seed=0), 1)
    sampler = TrainingBatchSampler(40, 4, seed=0)
    sampler.start_at(epoch=1, batches_done=3)
    assert _epoch(sampler, 1) == whole[3:]
    assert _epoch(sampler, 1) == whole  # the skip applies once: a later pass over the epoch is whole

    other = TrainingBatchSampler(40, 4, seed=0)
    other.start_at(epoch=1, batches_done=3)
    assert _epoch(other, 2) == _epoch(TrainingBatchSampler(40, 4, seed=0), 2)  # another epoch: nothing skipped


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="rank 2"):
        TrainingBatchSampler(10, 2, rank=2, world_size=2)
    with pytest.raises(ValueError, match="positive"):
        TrainingBatchSampler(0, 2)


@pytest.mark.parametrize("group", [False, True])
def test_with_an_uneven_epoch_only_the_short_global_batch_differs_from_one_process(group):
    lengths = [(i * 37) % 101 + 1 for i in range(63)]
    kwargs = {"seed": 1, "lengths": lengths if group else None}
    single = _epoch(TrainingBatchSampler(63, 16, **kwargs), 0)
    ranks = [_epoch(TrainingBatchSampler(63, 8, rank=r, world_size=2, **kwargs), 0) for r in (0, 1)]
    short = [step for step, batch in enumerate(single) if len(batch) < 16]
    assert len(short) == 1
    for step, batch in enumerate(single):
        together = ranks[0][step] + ranks[1][step]
        if step in short:  # filled up to 16 with repeated samples so both processes take a step
            assert len(together) == 16 and set(batch) <= set(together)
        else:
            assert sorted(together) == sorted(batch)


def test_start_at_makes_the_resumed_epoch_current_before_lightning_sets_it():
    sampler = TrainingBatchSampler(40, 4, seed=0)
    sampler.start_at(epoch=2, batches_done=1)
    assert list(sampler) == _epoch(TrainingBatchSampler(40, 4, seed=0), 2)[1:]  # iterated without set_epoch

"""The one writer of a run folder's records, and the file primitives under it: atomic writes, symlink swaps, locks."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from lightning_lora.checkpoints.run_folder import (
    BEST_LINK,
    KeepBest,
    read_best,
    read_scores,
    record_scores,
    update_best,
    write_best,
)
from lightning_lora.files import atomic_write, atomic_write_json, link_target, locked, swap_symlink, try_lock, unlock


def _results(pass1: float, passed: int, total: int) -> dict:
    return {"summary": {"pass@k": {"pass@1": pass1}, "problems_passed": passed, "num_problems": total}}


def _record_many(folder: str, worker: int, count: int) -> None:
    for i in range(count):
        record_scores(Path(folder), f"step{worker * 1000 + i:06d}.ckpt", worker * 1000 + i, {"val/loss": float(i)})
        record_scores(Path(folder), f"step{i:06d}.ckpt", i, {f"worker{worker}/metric": float(worker)})


def test_two_processes_recording_scores_lose_nothing(tmp_path):
    """Each process reads, changes and rewrites scores.json; the folder's lock keeps every change of both."""
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_record_many, args=(str(tmp_path), w, 40)) for w in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    scores = read_scores(tmp_path)
    assert len(scores) == 40 + 40 + 40
    for i in range(40):  # both processes merged their metric into the same entries
        assert scores[f"step{i:06d}.ckpt"]["metrics"] == {"worker1/metric": 1.0, "worker2/metric": 2.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.json"]  # no temporary or lock file left


def test_best_by_pass1_keeps_the_earlier_of_a_tie_and_a_tag_leaves_the_link_alone(tmp_path):
    for step in (10, 20, 30):
        (tmp_path / f"step{step:06d}.ckpt").write_bytes(b"x")
    assert update_best(tmp_path, tmp_path / "step000010.ckpt", 10, _results(0.25, 1, 4))
    assert update_best(tmp_path, tmp_path / "step000020.ckpt", 20, _results(0.5, 2, 4))
    assert not update_best(tmp_path, tmp_path / "step000030.ckpt", 30, _results(0.5, 2, 4))
    assert link_target(tmp_path / BEST_LINK) == "step000020.ckpt"
    assert read_best(tmp_path)["step"] == 20
    write_best(tmp_path, tmp_path / "step000030.ckpt", 30, _results(0.75, 3, 4), tag="n10")
    assert link_target(tmp_path / BEST_LINK) == "step000020.ckpt"
    assert read_best(tmp_path, "n10") == {"checkpoint": "step000030.ckpt", "step": 30, "pass@1": 0.75, "passed": 3,
                                          "total": 4, "results": "step000030.n10.results.json"}


def test_keep_best_takes_the_same_lock_as_score_recording(tmp_path):
    """A retention decision made while another process holds the lock waits for it (never reads half a change)."""
    (tmp_path / "step000010.ckpt").write_bytes(b"x")
    record_scores(tmp_path, "step000010.ckpt", 10, {"val/loss": 1.0})
    fd = try_lock(tmp_path)  # the folder itself is the lock
    assert fd is not None
    context = multiprocessing.get_context("fork")
    worker = context.Process(target=KeepBest("val/loss").apply, args=(tmp_path,))
    worker.start()
    worker.join(1.0)
    assert worker.is_alive() and not (tmp_path / BEST_LINK).exists()  # waiting for the lock
    unlock(fd)
    worker.join(30)
    assert worker.exitcode == 0 and link_target(tmp_path / BEST_LINK) == "step000010.ckpt"


def test_atomic_write_leaves_the_old_file_and_no_temporary_file_when_the_writer_fails(tmp_path):
    target = atomic_write_json(tmp_path / "sub" / "a.json", {"v": 1})
    assert json.loads(target.read_text()) == {"v": 1} and oct(target.stat().st_mode & 0o777) == "0o644"

    def half_then_fail(f):
        f.write(b'{"v": 2')
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, half_then_fail)
    assert json.loads(target.read_text()) == {"v": 1}
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.json"]


def test_swap_symlink_replaces_a_link_in_one_rename_and_a_held_lock_refuses_another_taker(tmp_path):
    swap_symlink(tmp_path / "best", "step000010.ckpt")
    swap_symlink(tmp_path / "best", "step000020.ckpt")
    assert os.readlink(tmp_path / "best") == "step000020.ckpt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
    with locked(tmp_path / ".lock"):
        assert try_lock(tmp_path / ".lock") is None  # held: another open file description cannot take it
    fd = try_lock(tmp_path / ".lock")
    assert fd is not None
    unlock(fd)

"""One fit per run folder: a second concurrent fit is refused, a dead run's lock is not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lightning_lora.training.run_lock import RunInUseError, RunLock, is_primary_process, lock_path

REPO = Path(__file__).resolve().parents[1]
FIT = [sys.executable, "-m", "lightning_lora", "fit", "--config", str(REPO / "configs" / "quickstart.yaml"),
       "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
       "--trainer.callbacks", "[]", "--run_name", "same"]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def test_a_second_concurrent_fit_with_the_same_run_name_is_refused_naming_the_folder_and_holder(tmp_path):
    first = subprocess.Popen([*FIT, "--trainer.max_steps", "100000"], cwd=tmp_path, env=_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lock = lock_path(tmp_path / "checkpoints" / "same")
    try:
        deadline = time.monotonic() + 240
        while not (lock.exists() and lock.read_text().strip()):
            assert first.poll() is None, first.stderr.read()
            assert time.monotonic() < deadline, "the first fit never took its lock"
            time.sleep(0.2)
        assert json.loads(lock.read_text())["pid"] == first.pid
        second = subprocess.run([*FIT, "--trainer.max_steps", "2"], cwd=tmp_path, env=_env(),
                                capture_output=True, text=True, timeout=240)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines()[-1].startswith(
            f"error: checkpoints/same is in use by another fit (pid {first.pid}, started ")
        assert "Traceback" not in second.stderr
        assert first.poll() is None  # the first run goes on, untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # The kernel dropped the killed run's lock: the stale file is no obstacle to the next run.
    RunLock(tmp_path / "checkpoints" / "same").acquire().release()


def test_the_lock_is_released_when_the_cli_returns_or_fails(tmp_path):
    held = RunLock(tmp_path / "run").acquire()
    with pytest.raises(RunInUseError, match=r"run is in use by another fit \(pid \d+"):
        RunLock(tmp_path / "run").acquire()  # an flock is per open file: the same process is refused too
    held.release()
    RunLock(tmp_path / "run").acquire().release()
    assert not (tmp_path / "run").exists()  # the lock file lives beside the folder, never in it


def test_only_rank_zero_takes_the_lock(monkeypatch):
    assert is_primary_process()
    monkeypatch.setenv("LOCAL_RANK", "1")  # a DDP child process of the same run
    assert not is_primary_process()

"""One ``fit`` per run folder at a time: an ``flock`` held on a lock file for the run's whole life.

The kernel drops an ``flock`` when its file descriptor closes, which every exit does (a crash, ``kill -9``
and a power cut included), so a lock left by a dead run is never mistaken for a live one: the next run
simply takes it. The file beside the run folder (``checkpoints/.<run_name>.lock``) only tells the refused
run who holds the lock (pid, start time, command). DDP ranks other than zero do not take it: their rank
zero holds it for the whole process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

from lightning_lora.errors import UserError
from lightning_lora.files import try_lock, unlock


class RunInUseError(UserError):
    """Another live process holds the run folder."""


def lock_path(run_folder: Path) -> Path:
    """``checkpoints/.<run_name>.lock``: beside the folder, so the folder itself holds only the run's files."""
    return run_folder.parent / f".{run_folder.name}.lock"


def is_primary_process() -> bool:
    """Whether this is the process a launch starts first (global rank zero): DDP children and the other
    ranks of ``torchrun`` carry a non-zero rank in their environment."""
    return all(os.environ.get(name, "0") == "0" for name in ("RANK", "LOCAL_RANK", "NODE_RANK"))


class RunLock:
    """An exclusive, non-blocking ``flock`` on :func:`lock_path` of ``run_folder``; :meth:`release` or process exit frees it."""

    def __init__(self, run_folder: Path) -> None:
        self.run_folder = Path(run_folder)
        self.path = lock_path(self.run_folder)
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise :class:`RunInUseError` naming the folder and the holder's pid."""
        for _ in range(10):
            fd = try_lock(self.path)
            if fd is None or _same_file(fd, self.path):
                break
            unlock(fd)  # the file was removed (a failed start cleaning up) between our open and our lock: again
        if fd is None:
            holder = _read_holder(self.path)
            since = time.strftime("%H:%M:%S", time.localtime(holder["started"])) if "started" in holder else "?"
            raise RunInUseError(
                f"{self.run_folder} is in use by another fit (pid {holder.get('pid', '?')}, started {since}); "
                "wait for it to end, or choose another --run_name.") from None
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "started": time.time(), "command": " ".join(sys.argv)}
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        self._fd = fd
        return self

    def release(self, remove: bool = False) -> None:
        """Drop the lock. The file stays, unless ``remove`` (a start that failed and left nothing else): it is
        removed while still locked, and :meth:`acquire` re-checks that the file it locked is still the one at
        the path, so a run that opened the old file meanwhile takes the lock again on the new one."""
        if self._fd is not None:
            if remove:
                with contextlib.suppress(OSError):
                    self.path.unlink()
            unlock(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text()[:4096] or "{}")
    except (OSError, ValueError):
        return {}

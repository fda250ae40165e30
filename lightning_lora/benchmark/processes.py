"""The program's process seen from outside: its environment, waiting for it, reaping it, killing what it left.

A clean environment (with, for the bare fallback, a marker that finds a ``setsid``'d process again), a
pidfd wait, ``wait4`` for the CPU time of the program and its children, and the size-capped read of its output
files. Nothing here chooses an isolation layer; the sandbox does.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

_MARKER_ENV = "LL_SANDBOX_RUN"


def minimal_env(workdir: str, marker: str | None = None) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
    if marker:
        env[_MARKER_ENV] = marker
    return env


def kill_marked(marker: str) -> None:
    """Fallback without cgroup: SIGKILL every process whose initial environment carries ``marker``."""
    needle = f"{_MARKER_ENV}={marker}".encode()
    for _ in range(50):
        found = False
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        os.kill(int(entry.name), signal.SIGKILL)
                        found = True
            except OSError:
                continue
        if not found:
            return
        time.sleep(0.01)


def wait_for(proc: subprocess.Popen, timeout: float) -> bool:
    """True when ``proc`` exits within ``timeout`` s. A pidfd wakes us at once; ``Popen.wait(timeout)``
    polls with sleeps of up to 50 ms, which was most of a short program's cost."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    finally:
        os.close(fd)


def reap(proc: subprocess.Popen) -> float:
    """Wait for ``proc`` (already killed or exited); its CPU seconds, with those of every child it waited for."""
    while True:
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:  # reaped elsewhere (cannot happen in this module): no usage known
            proc.wait()
            return 0.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def read_capped(path: Path, limit: int, tail: bool = False) -> str:
    with open(path, "rb") as f:
        if tail:
            f.seek(max(0, os.path.getsize(path) - limit))
        data = f.read(limit)
    return data.decode("utf-8", errors="replace")

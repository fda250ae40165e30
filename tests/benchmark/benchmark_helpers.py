"""Helpers for the benchmark tests: which isolation this machine gives, and finding leftover processes."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from lightning_lora.benchmark import sandbox
from lightning_lora.benchmark.cgroups import probe_cgroup


def bwrap_works() -> bool:
    return sandbox._use_bwrap(sandbox.SandboxConfig())


def cgroup_works() -> bool:
    return probe_cgroup() is not None


def namespaces_work() -> bool:
    """Whether the fallback (process-group isolation) builds its namespaces with unshare(2) here."""
    return sandbox._probe_namespaces(sandbox.base_interpreter()).works


def namespaces_problem() -> str:
    return sandbox._probe_namespaces(sandbox.base_interpreter()).problem


needs_bwrap = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap is not installed or does not work here")
needs_cgroup = pytest.mark.skipif(not cgroup_works(), reason="no writable pids cgroup on this machine")
needs_namespaces = pytest.mark.skipif(
    not namespaces_work(), reason=f"unshare(2) namespaces are not permitted here ({namespaces_problem()})")


def new_token() -> str:
    """A 15-character process name (the most /proc/<pid>/comm holds) unique to one attack."""
    return "llsbx" + uuid.uuid4().hex[:10]


def tagged(token: str, code: str) -> str:
    """Prefix ``code`` so the program and every process it forks carry ``token`` as their name."""
    return f"import ctypes\nctypes.CDLL(None).prctl(15, b'{token}', 0, 0, 0)\n{code}"


def live_processes(token: str, wait_s: float = 1.0) -> list[int]:
    """Running (non-zombie) processes named ``token``, after giving just-killed ones ``wait_s`` to go."""
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
                state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if comm == token and state != "Z":
                found.append(int(entry))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def leftover_run_cgroups() -> list[str]:
    """Per-run cgroup directories still present (each run must remove its own)."""
    root = probe_cgroup()
    if root is None:
        return []
    dirs = [root.pids] + ([root.memory] if root.memory else [])
    return [p.name for d in dirs for p in d.iterdir() if p.is_dir() and p.name.startswith("run-")]

"""Per-run cgroups for the sandbox: a pids limit (RLIMIT_NPROC does nothing for root), a total memory
limit, and a way to find and kill every process of a run, ``setsid`` or not.

Created under this process's own cgroup (v1 ``pids`` + ``memory``, else v2 where our cgroup may have
children with controllers), one directory per process, removed at exit. :func:`probe_cgroup` returns
None where none of that is writable (not root, no delegation): the sandbox then says so.
"""

from __future__ import annotations

import atexit
import functools
import os
import shlex
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

_TOP_PREFIX = "lightning_lora_sandbox-"
#: Exit status of the launcher shell when it cannot join the run's cgroup.
CGROUP_JOIN_FAILED = 125


@dataclass(frozen=True)
class CgroupRoot:
    version: int
    pids: Path  # directory under which per-run pids cgroups are created
    memory: Path | None  # same for memory; equal to pids for v2


def _own_cgroups() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's cgroup path."""
    own: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            own[c] = path
    return own


def _mounts() -> dict[str, str]:
    """Controller (or "" for the v2 hierarchy) -> mount point."""
    found: dict[str, str] = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, point, fstype, options = line.split()[:4]
        if fstype == "cgroup2":
            found.setdefault("", point)
        elif fstype == "cgroup":
            for opt in options.split(","):
                found.setdefault(opt, point)
    return found


def _make_top(base: Path, settings: dict[str, str], enable: list[str] | None = None) -> Path | None:
    """Create our directory under ``base`` and check that a child with ``settings`` can be made in it.

    ``enable``: v2 controllers to switch on for the children (fails where ``base`` holds processes).
    """
    _remove_stale(base)
    # One directory per process: another process's exit handler must not remove a directory in use.
    top = base / f"{_TOP_PREFIX}{os.getpid()}"
    try:
        top.mkdir(exist_ok=True)
        atexit.register(_rmdir_quietly, top)
        if enable:
            (top / "cgroup.subtree_control").write_text(" ".join("+" + c for c in enable))
        probe = top / f"probe-{uuid.uuid4().hex}"
        probe.mkdir()
        try:
            for name, value in settings.items():
                (probe / name).write_text(value)
        finally:
            probe.rmdir()
    except OSError:
        return None
    return top


def _rmdir_quietly(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def _remove_stale(base: Path) -> None:
    """Remove empty cgroup directories left by processes of ours that are gone (killed before exit)."""
    try:
        tops = [p for p in base.iterdir() if p.name.startswith(_TOP_PREFIX)]
    except OSError:
        return
    for top in tops:
        pid = top.name[len(_TOP_PREFIX):]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        for run in top.glob("run-*"):
            _rmdir_quietly(run)
        _rmdir_quietly(top)


@functools.lru_cache(maxsize=None)
def probe_cgroup() -> CgroupRoot | None:
    """A writable pids cgroup under our own (v1 pids [+ memory], else v2), or None."""
    try:
        own, mounts = _own_cgroups(), _mounts()
    except (OSError, ValueError):
        return None
    if "pids" in own and "pids" in mounts:
        pids = _make_top(Path(mounts["pids"] + own["pids"]), {"pids.max": "8"})
        if pids is not None:
            memory = None
            if "memory" in own and "memory" in mounts:
                memory = _make_top(Path(mounts["memory"] + own["memory"]), {"memory.limit_in_bytes": str(2**26)})
            return CgroupRoot(1, pids, memory)
    if "" in own and "" in mounts:
        base = Path(mounts[""] + own[""])
        try:
            controllers = (base / "cgroup.controllers").read_text().split()
        except OSError:
            return None
        if "pids" not in controllers:
            return None
        wanted = [c for c in ("pids", "memory") if c in controllers]
        settings = {"pids.max": "8"} | ({"memory.max": str(2**26)} if "memory" in wanted else {})
        top = _make_top(base, settings, enable=wanted)
        if top is not None:
            return CgroupRoot(2, top, top if "memory" in wanted else None)
    return None


class RunCgroup:
    """The cgroup(s) of one run: created with limits, joined by the launcher, emptied and removed after."""

    def __init__(self, root: CgroupRoot, max_pids: int, memory_bytes: int) -> None:
        name = f"run-{uuid.uuid4().hex}"
        self.dirs = [root.pids / name]
        self.memory = None if root.memory is None else root.memory / name
        if self.memory is not None and self.memory != self.dirs[0]:
            self.dirs.append(self.memory)
        self.version = root.version
        for d in self.dirs:
            d.mkdir()
        (self.dirs[0] / "pids.max").write_text(str(max_pids))
        if self.memory is not None:
            limit_file = "memory.limit_in_bytes" if root.version == 1 else "memory.max"
            (self.memory / limit_file).write_text(str(memory_bytes))
            swap = self.memory / "memory.swap.max"
            if root.version == 2 and swap.exists():
                swap.write_text("0")

    def wrap(self, argv: list[str]) -> list[str]:
        """Prefix argv with a shell that moves itself into the cgroup(s) before exec: no race, no escape."""
        joins = " && ".join(f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}" for d in self.dirs)
        script = f'{joins} || {{ echo "sandbox: cannot join cgroup" >&2; exit {CGROUP_JOIN_FAILED}; }}; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *argv]

    def kill_all(self) -> None:
        """SIGKILL every process in the run's cgroup until it is empty (a fork bomb is bounded by pids.max)."""
        procs = self.dirs[0] / "cgroup.procs"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = [int(p) for p in procs.read_text().split()]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.005)
        raise RuntimeError(f"sandbox: processes in {self.dirs[0]} survived SIGKILL for 10 s.")

    def oom_killed(self) -> bool:
        if self.memory is None:
            return False
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in (self.memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
        except OSError:
            pass
        return False

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(200):  # a just-killed task can take a moment to leave
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)

"""What one contained program run is given and what it gives back: :class:`SandboxConfig` (the limits),
:class:`Execution` (the result) and the verdict statuses.

Plain data kept below the sandbox that fills it, so that the layers building a run (the interpreter's bootstrap,
bubblewrap, the namespaces), the verdict rules and the callers read these types without importing the sandbox.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Status = Literal["passed", "wrong_answer", "runtime_error", "timeout", "memory", "syntax_error", "no_code", "forged"]
#: "forged": the results channel of a function problem holds records its harness does not write.
STATUSES: tuple[str, ...] = ("passed", "wrong_answer", "runtime_error", "timeout", "memory", "syntax_error", "no_code",
                             "forged")
Isolation = Literal["auto", "bubblewrap", "process-group"]


@dataclass(frozen=True)
class SandboxConfig:
    """Limits for one program run.

    Args:
        timeout_s: wall-clock seconds per run; the CPU-time rlimit is this rounded up plus one.
        memory_mb: address-space rlimit per process and, with a memory cgroup, the total for the run.
        output_limit_mb: largest stdout/stderr/file a program may write (RLIMIT_FSIZE); more is a failure.
        max_open_files: RLIMIT_NOFILE.
        max_pids: processes + threads per run (cgroup pids.max; without a cgroup nothing enforces it for root).
        tmpfs_mb: size of each of the sandbox's tmpfs: ``/work`` and ``/tmp`` under bubblewrap, and ``/dev/shm``
            too under the fallback's namespaces (counted in the memory cgroup).
        isolation: "auto" (bubblewrap when it works, else process-group), or force one.
        namespaces: process-group isolation: build net/mount/PID/IPC/UTS namespaces with ``unshare(2)`` where
            this machine permits it (False: the bare fallback, every pass then unverified).
        cpu_time_s: CPU-time limit per process (RLIMIT_CPU soft; SIGKILL one second later); default
            ``timeout_s`` rounded up plus one. A program stopped by it is a ``timeout``.
        use_cgroup: put each run in its own cgroup when this machine lets us (False: never touch cgroups).
        python: interpreter for the programs; default: the base interpreter of this Python (not its venv,
            so the project's packages are invisible to programs; the standard library is all they get).
    """

    timeout_s: float = 10.0
    memory_mb: int = 1024
    output_limit_mb: int = 16
    max_open_files: int = 64
    max_pids: int = 64
    tmpfs_mb: int = 64
    isolation: Isolation = "auto"
    use_cgroup: bool = True
    python: str | None = None
    namespaces: bool = True
    cpu_time_s: float | None = None

    @property
    def cpu_limit_s(self) -> int:
        """RLIMIT_CPU's soft limit in whole seconds (the hard limit is one more)."""
        return max(1, math.ceil(self.cpu_time_s)) if self.cpu_time_s is not None else math.ceil(self.timeout_s) + 1

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}.")
        if self.memory_mb < 64:
            raise ValueError(f"memory_mb must be at least 64 (the interpreter alone needs ~30), got {self.memory_mb}.")
        if self.isolation not in ("auto", "bubblewrap", "process-group"):
            raise ValueError(f"isolation must be 'auto', 'bubblewrap' or 'process-group', got {self.isolation!r}.")
        if self.cpu_time_s is not None and self.cpu_time_s <= 0:
            raise ValueError(f"cpu_time_s must be positive, got {self.cpu_time_s}.")


@dataclass
class Execution:
    """What one run produced. ``status`` is set by the test runners; raw runs leave it ``None``."""

    returncode: int | None
    stdout: str
    stderr_tail: str
    wall_time_s: float
    timed_out: bool
    output_limit: bool
    oom_killed: bool
    status: Status | None = None
    detail: str = ""
    #: CPU seconds of the program and every process it waited for (wait4's rusage).
    cpu_time_s: float = 0.0
    #: killed (SIGXCPU or SIGKILL) after using its whole CPU-time limit.
    cpu_limit: bool = False

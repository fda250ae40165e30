"""Checkpoint files that are either complete or absent: a kill during a save never leaves a truncated one."""

from __future__ import annotations

import errno
import resource
import shutil
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lightning_lora.errors import UserError
from lightning_lora.files import atomic_write

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(UserError):
    """A checkpoint did not fit on its device; the one before it is untouched."""


class FileSizeLimitError(DiskFullError):
    """A checkpoint is larger than the process may write (``ulimit -f``, RLIMIT_FSIZE); the one before it is
    untouched. A DiskFullError, so nothing tries to save again on the way out."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write to a temporary file in the target's folder, fsync it, then rename it over the target
    (:func:`~lightning_lora.files.atomic_write`).

    A rename within one filesystem is atomic, so ``last.ckpt`` is always the previous complete
    checkpoint or the new complete one. Remote paths (``s3://`` ...) go through Lightning's own writer.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if "://" in str(path) and not str(path).startswith("file://"):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        target = Path(str(path).removeprefix("file://"))
        try:
            atomic_write(target, lambda f: torch.save(checkpoint, f), durable=True)  # durable: survives a power cut
        except OSError as err:
            if err.errno == errno.EFBIG:
                raise FileSizeLimitError(
                    f"The file-size limit of this process ({_file_size_limit()}, ulimit -f) stopped the write of "
                    f"{_shown(target)} (it needs about {_size(tensor_bytes(checkpoint))}); the checkpoints written "
                    "before it, last.ckpt included, are intact. Raise the limit and resume with --ckpt_path last."
                ) from err
            if err.errno not in _DISK_FULL:
                raise
            free = shutil.disk_usage(target.parent).free
            raise DiskFullError(
                f"No space left on the device to write {_shown(target)} (it needs about {_size(tensor_bytes(checkpoint))}, "
                f"{_size(free)} free); the checkpoints written before it, last.ckpt included, are intact. "
                "Free some space and resume with --ckpt_path last.") from err


def file_size_limit_message(err: BaseException) -> str | None:
    """One sentence for a write anywhere in a run (a data cache, a log) that went past the file-size limit
    (EFBIG in ``err``'s chain), or None. Checkpoint saves say more (:class:`FileSizeLimitError`)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno == errno.EFBIG:
            name = f" ({current.filename})" if current.filename else ""
            return (f"A file{name} grew past the file-size limit of this process ({_file_size_limit()}, ulimit -f) "
                    "and could not be written; raise the limit and run again.")
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def tensor_bytes(obj: Any) -> int:
    """Bytes of every tensor in a (nested) checkpoint: about the size of its file."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v) for v in obj)
    return 0


def _file_size_limit() -> str:
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return "unlimited" if soft == resource.RLIM_INFINITY else _size(soft)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it (as the user named the run)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)

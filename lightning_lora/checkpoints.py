"""Where checkpoints live and how a ``--ckpt_path`` is resolved and inspected without building a model."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from lightning_lora.errors import UserError

CHECKPOINT_ROOT = Path("checkpoints")
#: Where the default TensorBoard logger of the CLI writes (``tb_logs/<run_name>/version_N``).
LOG_ROOT = Path("tb_logs")
METADATA_KEY = "lightning_lora"


def checkpoint_dir(run_name: str) -> Path:
    """``checkpoints/<run_name>``."""
    return CHECKPOINT_ROOT / run_name


def resolve_ckpt_path(ckpt_path: str, run_name: str) -> Path:
    """``last`` means ``checkpoints/<run_name>/last.ckpt``; a missing file is an error, never a silent fresh start."""
    path = checkpoint_dir(run_name) / "last.ckpt" if ckpt_path == "last" else Path(ckpt_path).expanduser()
    if not path.is_file():
        hint = f" (run_name={run_name!r})" if ckpt_path == "last" else ""
        raise UserError(f"--ckpt_path {ckpt_path}: no checkpoint at {path}{hint}.")
    checkpoint = load_checkpoint_file(path)
    if METADATA_KEY not in checkpoint or "pytorch-lightning_version" not in checkpoint:
        raise UserError(f"--ckpt_path {path} is not a checkpoint written by lightning_lora fit.")
    return path


def refuse_fresh_fit_into(folder: Path, run_name: str) -> None:
    """A new ``fit`` must not mix its checkpoints with an earlier run's under the same name."""
    if any(folder.glob("*.ckpt")):
        raise UserError(f"checkpoints/{run_name} already holds a run: resume it with --ckpt_path last, "
                        f"or start a new one with another --run_name (or delete {folder}).")


def check_output_folders_writable(run_name: str, logs: bool = True) -> None:
    """Create ``checkpoints/<run_name>`` (and ``tb_logs/<run_name>`` with ``logs``) and write a file in each,
    so a run that cannot save fails at start-up in one sentence, not after loading a model or at its first save."""
    for folder in [checkpoint_dir(run_name)] + ([LOG_ROOT / run_name] if logs else []):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, probe = tempfile.mkstemp(prefix=".write-check-", dir=folder)
            os.close(handle)
            os.unlink(probe)
        except OSError as err:
            raise UserError(f"Output folder {folder} is not writable: {_why_not_writable(folder, err)}.") from err


def _why_not_writable(folder: Path, err: OSError) -> str:
    """``checkpoints is a file, not a folder``, ``permission denied``, ``no space left on device``, ..."""
    for part in reversed([folder, *folder.parents]):
        if part.exists() and not part.is_dir():
            return f"{part} is a file, not a folder"
    return (err.strerror or type(err).__name__).lower()


def load_checkpoint_file(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True``; an unreadable file is a user error."""
    try:
        # mmap: checking a full fine-tune's checkpoint must not read gigabytes of weights.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # truncated, not a checkpoint, or pickled objects
        raise UserError(f"Checkpoint {path} cannot be read as a torch checkpoint ({type(err).__name__}).") from err
    if not isinstance(checkpoint, dict):
        raise UserError(f"Checkpoint {path} holds a {type(checkpoint).__name__}, not a checkpoint dict.")
    return checkpoint


def read_metadata(path: str | Path) -> dict[str, Any] | None:
    """The lightning_lora metadata block of a checkpoint, or None for a foreign checkpoint."""
    return load_checkpoint_file(path).get(METADATA_KEY)

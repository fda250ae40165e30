"""Checkpoint files in one room: where they live, resolving ``--ckpt_path``, reading them without building a
model, checking that one belongs to a model, and loading its trainable weights.

Writing is Lightning's (``ModelCheckpoint`` through :class:`~lightning_lora.checkpoint_io.AtomicCheckpointIO`);
what goes in the file is the module's (``AdaptedModule.on_save_checkpoint``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from lightning_lora.errors import UserError

CHECKPOINT_ROOT = Path("checkpoints")
#: Where the default TensorBoard logger of the CLI writes (``tb_logs/<run_name>/version_N``).
LOG_ROOT = Path("tb_logs")
METADATA_KEY = "lightning_lora"
STEP_PATTERN = re.compile(r"step(\d+)\.ckpt$")
#: Written in the checkpoint folder when EarlyStopping ends a run (see ``RunCheckpoint``).
EARLY_STOP_FILE = "early_stop.json"


class CheckpointMismatchError(UserError):
    """A checkpoint does not belong to the model the config builds."""


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


def refuse_resume_after_early_stop(folder: Path) -> None:
    """A run EarlyStopping ended is finished: resuming it would train past the point it chose, silently."""
    note = folder / EARLY_STOP_FILE
    if note.is_file():
        stop = json.loads(note.read_text())
        raise UserError(f"{folder} stopped early at step {stop.get('step')} ({stop.get('message')}); resuming would "
                        f"train past that. To continue anyway, delete {note}; to start over, use another --run_name.")


def refuse_fresh_fit_into(folder: Path, run_name: str) -> None:
    """A new ``fit`` must not mix its checkpoints with an earlier run's under the same name."""
    if any(folder.glob("*.ckpt")):
        raise UserError(f"{folder} already holds a run: resume it with --ckpt_path last, "
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


def checkpoints_in(ckpt_dir: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the step checkpoints in a folder, in step order (``last`` and ``best`` are aliases)."""
    found = [(int(m.group(1)), p) for p in ckpt_dir.glob("*.ckpt") if (m := STEP_PATTERN.search(p.name))]
    return sorted(found)


def check_checkpoint(checkpoint: dict[str, Any], expected: dict[str, Any]) -> None:
    """Refuse a checkpoint whose base model, method or trainable keys differ from ``expected``, by name."""
    found = checkpoint.get(METADATA_KEY)
    if found is None:
        raise CheckpointMismatchError("The checkpoint has no lightning_lora metadata block; "
                                      "it was not written by lightning_lora.")
    base_found, base_expected = found["base_model"], expected["base_model"]
    for key in ("model_type", "num_parameters"):
        if base_found.get(key) != base_expected.get(key):
            raise CheckpointMismatchError(
                f"The checkpoint was trained on base model {base_found['name']!r} ({key}={base_found.get(key)}), "
                f"but the config builds {base_expected['name']!r} ({key}={base_expected.get(key)})."
            )
    if found.get("method") != expected["method"]:
        raise CheckpointMismatchError(
            f"The checkpoint was trained with model.method={found.get('method')!r}, the config says {expected['method']!r}."
        )
    for block, title in (("lora", "LoRA"), ("ia3", "IA3"), ("peft_config", "PEFT")):
        theirs, ours = _comparable(found.get(block)), _comparable(expected.get(block))
        if theirs != ours:
            diffs = [f"model.{block}.{k}: checkpoint {theirs.get(k)!r} vs config {ours.get(k)!r}"
                     for k in sorted(set(theirs) | set(ours), key=str) if theirs.get(k) != ours.get(k)]
            raise CheckpointMismatchError(f"The checkpoint's {title} settings differ from the config's: "
                                          + "; ".join(diffs) + ".")
    keys = set(checkpoint.get("state_dict", {}))
    wanted = set(expected["trainable_keys"])
    if keys != wanted:
        missing, unexpected = sorted(wanted - keys), sorted(keys - wanted)
        detail = []
        if missing:
            detail.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            detail.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise CheckpointMismatchError("The checkpoint's weights do not match the model's trainable parameters: "
                                      + ", ".join(detail) + ".")


def _comparable(settings: dict[str, Any] | None) -> dict[str, Any]:
    """Method settings as far as they shape the weights: dropout is left out, module lists are sets."""
    return {k: sorted(v) if isinstance(v, list) and all(isinstance(x, str) for x in v) else v
            for k, v in (settings or {}).items() if not k.endswith("dropout")}


def load_trainable_weights(module: Any, checkpoint_path: Path) -> int:
    """Load a checkpoint's trainable weights into ``module`` (an ``AdaptedModule``) after checking they
    belong to it; return the checkpoint's step."""
    checkpoint = load_checkpoint_file(checkpoint_path)
    try:
        check_checkpoint(checkpoint, module.checkpoint_metadata())
    except UserError as err:
        raise UserError(f"{checkpoint_path}: {err}") from err
    module.load_state_dict(checkpoint["state_dict"], strict=False)
    return int(checkpoint.get("global_step", 0))

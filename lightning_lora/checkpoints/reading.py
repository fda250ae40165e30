"""Checkpoint files in one room: where they live, resolving ``--ckpt_path``, reading one once, checking that it
belongs to a model, and loading its trainable weights; and the one set of sentences for a checkpoint or a run's
config that is not where an option points.

``--ckpt_path`` names a checkpoint file, a run folder (``checkpoints/<run>``: its ``best``, else ``last.ckpt``) or
``last`` (``checkpoints/<run_name>/last.ckpt``); :func:`find_checkpoint` turns any of them into a file without
reading it, :func:`read_checkpoint` reads that file once into a :class:`Checkpoint` (metadata, step, weights),
and :meth:`Checkpoint.load_into` checks it against a module and loads it. The config of a checkpoint is the
``config.yaml`` fit saves beside it (:func:`config_beside`) unless ``--config`` names one (:func:`config_file`).

Every reader checks the digests a checkpoint records (:mod:`lightning_lora.checkpoints.integrity`) for the parts it
uses, and refuses a damaged file in one line (:func:`verify_checkpoint`): :func:`read_checkpoint` (``generate``,
``chat``, ``evaluate``, ``export``, ``benchmark``) the trainable weights, :func:`resolve_ckpt_path` (``fit``: weights
and optimizer state; ``validate`` / ``test`` / ``predict``: weights) before any model loads, and
``AdaptedModule.on_load_checkpoint`` for Lightning's own load. A file checked once is not hashed again while it is
unchanged. Checkpoints written before digests load unchecked.

Writing is Lightning's (``ModelCheckpoint`` through :class:`~lightning_lora.checkpoints.atomic_io.AtomicCheckpointIO`);
what goes in the file is the module's (``AdaptedModule.on_save_checkpoint``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lightning_lora.checkpoints.integrity import DIGEST_KEY, PARTS, UnknownDigestAlgorithm, damaged_parts
from lightning_lora.errors import UserError
from lightning_lora.files import LOG_ROOT, checkpoint_dir

METADATA_KEY = "lightning_lora"
STEP_PATTERN = re.compile(r"step(\d+)\.ckpt$")
#: Written in the checkpoint folder when EarlyStopping ends a run (see ``RunCheckpoint``).
EARLY_STOP_FILE = "early_stop.json"
#: A run folder's files, as fit writes them in ``checkpoints/<run_name>/``: its config, its best and last checkpoints.
RUN_CONFIG = "config.yaml"
BEST_LINK = "best"
LAST_CHECKPOINT = "last.ckpt"
_CHECKPOINT_HINT = "give a checkpoint file such as checkpoints/<run>/best, last.ckpt or stepNNNNNN.ckpt, or a run folder"
_CONFIG_HINT = "fit saves config.yaml beside its checkpoints; --config X.yaml names the one to use"


class CheckpointNotFoundError(UserError):
    """No checkpoint (or run folder) where an option points."""


class NotACheckpointError(UserError):
    """A file that is not a checkpoint written by lightning_lora fit."""


class ConfigNotFoundError(UserError):
    """No training config where one was looked for."""


class CheckpointMismatchError(UserError):
    """A checkpoint does not belong to the model the config builds."""


class DamagedCheckpointError(UserError):
    """A checkpoint whose tensors no longer match the digests recorded when it was saved."""


#: The parts each kind of reader checks: resuming training uses them all, everything else the weights only.
WEIGHTS: tuple[str, ...] = ("state_dict",)
EVERYTHING: tuple[str, ...] = tuple(PARTS)


def _where(given: str, path: Path) -> str:
    return "there" if str(path) == given else f"at {path}"


def find_checkpoint(ckpt_path: str | Path, run_name: str | None = None, resume: bool = False,
                    option: str = "--ckpt_path") -> Path:
    """The checkpoint file ``ckpt_path`` names, without reading it: a file; a run folder's ``best`` (else its
    ``last.ckpt``; with ``resume``, its ``last.ckpt`` first); ``last``, the ``last.ckpt`` of run ``run_name``.
    A missing one is a :class:`CheckpointNotFoundError`, never a silent fresh start."""
    given = str(ckpt_path)
    if given == "last":
        if run_name is None:
            raise CheckpointNotFoundError(f"{option} last: no run to take it from; give --config X.yaml (last is "
                                          "checkpoints/<run_name>/last.ckpt of its run) or the run folder itself.")
        path = checkpoint_dir(run_name) / LAST_CHECKPOINT
        if not path.is_file():
            raise CheckpointNotFoundError(f"{option} last: no checkpoint at {path} (run_name={run_name!r}).")
        return path
    path = Path(given).expanduser()
    if path.is_dir():
        order = (LAST_CHECKPOINT, BEST_LINK) if resume else (BEST_LINK, LAST_CHECKPOINT)
        for name in order:
            if (path / name).is_file():
                return path / name
        raise CheckpointNotFoundError(f"{option} {given}: no checkpoint at {path / order[0]} or {path / order[1]} "
                                      "(fit writes them in a run folder once it has saved a checkpoint).")
    if not path.is_file():
        raise CheckpointNotFoundError(f"{option} {given}: no checkpoint {_where(given, path)} ({_CHECKPOINT_HINT}).")
    return path


def resolve_ckpt_path(ckpt_path: str, run_name: str, resume: bool = False) -> Checkpoint:
    """``--ckpt_path`` of fit / validate / test / predict as the checkpoint file it names (:func:`find_checkpoint`),
    read once and checked to be a lightning_lora checkpoint with intact weights (and, with ``resume``, optimizer
    state) before any model loads; ``resume`` (fit) takes a run folder's ``last.ckpt`` before its ``best``."""
    return read_checkpoint(find_checkpoint(ckpt_path, run_name, resume=resume), verify=EVERYTHING if resume else WEIGHTS)


def config_file(config: str | Path, option: str = "--config") -> Path:
    """The training config ``--config`` names; one line when there is none."""
    path = Path(config).expanduser()
    if not path.is_file():
        raise ConfigNotFoundError(f"{option} {config}: no training config {_where(str(config), path)} "
                                  "(fit saves one beside its checkpoints: checkpoints/<run_name>/config.yaml).")
    return path


def config_beside(folder: Path, option: str, given: str | Path) -> Path:
    """The ``config.yaml`` fit saved in a run folder (``folder``: the one ``option given`` points into)."""
    path = Path(folder) / RUN_CONFIG
    if not path.is_file():
        raise ConfigNotFoundError(f"{option} {given}: no training config at {path} ({_CONFIG_HINT}).")
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


def load_checkpoint_file(path: str | Path, option: str | None = None) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True``; an unreadable file is a user error (named with
    ``option`` when an option gave it)."""
    what = f"{option} {path}" if option else f"Checkpoint {path}"
    try:
        # mmap: checking a full fine-tune's checkpoint must not read gigabytes of weights.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # truncated, not a checkpoint, or pickled objects
        raise NotACheckpointError(f"{what} cannot be read as a torch checkpoint ({type(err).__name__}).") from err
    if not isinstance(checkpoint, dict):
        raise NotACheckpointError(f"{what} holds a {type(checkpoint).__name__}, not a checkpoint dict.")
    return checkpoint


@dataclass
class Checkpoint:
    """A lightning_lora checkpoint file read once (its tensors memory-mapped): where it is and what it holds."""

    path: Path
    data: dict[str, Any]
    #: The parts whose digests have been checked (:func:`verify_checkpoint`).
    verified: tuple[str, ...] = ()

    @property
    def metadata(self) -> dict[str, Any]:
        """The lightning_lora block: base model, method and settings, trainable keys, logger version."""
        return self.data[METADATA_KEY]

    @property
    def step(self) -> int:
        return int(self.data.get("global_step", 0))

    def load_into(self, module: Any) -> int:
        """Check the weights belong to ``module`` (an ``AdaptedModule``; the sentence names this file), load
        them, and return the checkpoint's step."""
        try:
            check_checkpoint(self.data, module.checkpoint_metadata())
        except CheckpointMismatchError as err:
            raise CheckpointMismatchError(f"{self.path}: {err}") from err
        if "state_dict" not in self.verified:
            verify_checkpoint(self.data, self.path, WEIGHTS)
        module.load_state_dict(self.data["state_dict"], strict=False)
        return self.step


def read_checkpoint(path: str | Path, option: str = "--ckpt_path", verify: tuple[str, ...] = WEIGHTS) -> Checkpoint:
    """Read a checkpoint file once; one line naming ``option`` and the file when it is not one fit wrote, and
    one naming the file and the part when a part in ``verify`` does not match its recorded digest."""
    data = load_checkpoint_file(path, option)
    if METADATA_KEY not in data or "pytorch-lightning_version" not in data:
        raise NotACheckpointError(f"{option} {path} is not a checkpoint written by lightning_lora fit.")
    verify_checkpoint(data, path, verify)
    return Checkpoint(Path(path), data, verified=tuple(verify))


#: Files whose parts were found intact, by (real path, inode, size, modification time): Lightning reads a file again
#: after ``resolve_ckpt_path`` checked it, and ``on_load_checkpoint`` need not hash the same bytes twice.
_INTACT: dict[tuple[str, int, int, int], set[str]] = {}


def _file_key(path: str | Path) -> tuple[str, int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:  # not a local file (a URL Lightning reads through fsspec): check it each time
        return None
    return os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns


def verify_checkpoint(checkpoint: dict[str, Any], path: str | Path, parts: tuple[str, ...] = WEIGHTS) -> None:
    """Refuse, in one line naming ``path`` and the part, a checkpoint whose ``parts`` do not match the digests
    recorded when it was saved. A checkpoint written before digests passes; so does a part it lacks."""
    recorded = (checkpoint.get(METADATA_KEY) or {}).get(DIGEST_KEY)
    if not recorded:
        return
    key = _file_key(path)
    done = _INTACT.get(key, set()) if key is not None else set()
    todo = tuple(part for part in parts if part not in done)
    try:
        damaged = damaged_parts(checkpoint, recorded, todo)
    except UnknownDigestAlgorithm as err:
        raise DamagedCheckpointError(f"{path}: its digests were made with {err}, which this version of lightning_lora "
                                     "cannot check; load it with the version that wrote it.") from err
    if damaged:
        raise DamagedCheckpointError(damaged_sentence(path, damaged, int(checkpoint.get("global_step", 0))))
    if key is not None:
        _INTACT.setdefault(key, set()).update(todo)


def damaged_sentence(path: str | Path, damaged: list[str], step: int) -> str:
    """``<file>: the trainable weights (state_dict) do not match the digest recorded when it was saved (damaged
    file); ...`` with what can still be done: an earlier checkpoint of its run, or what the file is still good for."""
    path = Path(path)
    shown = f"{path} (-> {path.resolve().name})" if path.is_symlink() else str(path)
    others = [(s, p) for s, p in checkpoints_in(path.parent) if p.resolve() != path.resolve()]
    earlier = [p for s, p in others if s < step]
    later = [p for s, p in others if s >= step]
    named = " and ".join(f"{PARTS.get(part, part)} ({part})" for part in damaged)
    agree = "do not match the digests" if len(damaged) > 1 else (
        "does not match the digest" if damaged == ["optimizer_states"] else "do not match the digest")
    sentence = f"{shown}: {named} {agree} recorded when it was saved (damaged file); "
    if "state_dict" in damaged:
        if earlier:
            return sentence + f"use an earlier checkpoint ({earlier[-1]}) or train again."
        # a later checkpoint's weights serve generate, export and validate as well
        return sentence + (f"use another checkpoint of the run ({later[0]}) or train again." if later else
                           f"{path.parent} has no other checkpoint to use instead: train again.")
    fallback = (f"resume from an earlier checkpoint ({earlier[-1]})" if earlier else
                f"{path.parent} has no earlier checkpoint, so start a new run")
    return sentence + ("its weights are intact (generate, export and validate still use them), but training cannot "
                       f"resume from it: {fallback}.")


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


def load_trainable_weights(module: Any, checkpoint_path: str | Path) -> int:
    """Read a checkpoint and load its trainable weights into ``module`` after checking they belong to it
    (:meth:`Checkpoint.load_into`); return the checkpoint's step."""
    return Checkpoint(Path(checkpoint_path), load_checkpoint_file(checkpoint_path)).load_into(module)

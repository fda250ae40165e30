"""Random state in the checkpoint, so a resumed run draws the same dropout masks as an uninterrupted one."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_lora.lightning_internals import collect_rng_states, set_rng_states


class RandomStateCheckpoint(L.Callback):
    """Saves the Python, NumPy and torch (CPU and CUDA) random states of every process with each
    checkpoint and puts them back when training resumes.

    The states saved are those at the end of the last completed training batch, so a checkpoint
    written on an interruption in the middle of a step (Ctrl-C, an exception) holds the same states
    as one written at that step's end. Processes draw different amounts of randomness (dropout over
    batches of different shapes), so each one's states are gathered into the checkpoint when it is
    written; a save on an exception, where the other processes may not take part, keeps rank zero's
    states only, and every process then resumes from those. States are restored at the first
    training batch after the resume, after model set-up, sanity validation and loader creation.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None
        self._at_batch_end: dict[str, Any] | None = None
        self._failing = False

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        # Runs before ModelCheckpoint's hook of the same batch (Lightning calls checkpoint callbacks last).
        self._at_batch_end = collect_rng_states(include_cuda=torch.cuda.is_available())

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        # Runs before the checkpoint callback's save on exception. On SIGTERM Lightning stops every
        # process at the same batch end, so they can all take part in the save; otherwise they may not.
        self._failing = not isinstance(exception, SIGTERMException)

    def state_dict(self) -> dict[str, Any]:
        if self._pending is not None:  # saved again before the restored states were used: keep them
            return self._pending
        own = _portable(self._at_batch_end or collect_rng_states(include_cuda=torch.cuda.is_available()))
        per_rank = [own]
        dist = torch.distributed
        if not self._failing and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, _tensors_as_bytes(own))  # every process takes part in a save
            per_rank = [_bytes_as_tensors(states) for states in gathered]
        return {"rng": per_rank[0], "rng_per_rank": per_rank}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        if self._pending is None:
            return
        saved, self._pending = self._pending, None
        per_rank = saved.get("rng_per_rank") or []
        states = per_rank[trainer.global_rank] if len(per_rank) == trainer.world_size else saved.get("rng")
        if states:
            set_rng_states(_native(states))
            self._at_batch_end = collect_rng_states(include_cuda=torch.cuda.is_available())


def _portable(states: dict[str, Any]) -> dict[str, Any]:
    """NumPy's key array as a tensor, so checkpoints stay loadable with ``weights_only=True``."""
    states = dict(states)
    if "numpy" in states:
        kind, keys, *rest = states["numpy"]
        states["numpy"] = (kind, torch.from_numpy(keys.copy()), *rest)
    return states


def _tensors_as_bytes(value: Any) -> Any:
    """Tensors replaced by (dtype name, bytes), so the states travel through ``all_gather_object``."""
    if isinstance(value, torch.Tensor):
        return ("__tensor__", str(value.dtype).removeprefix("torch."), value.contiguous().numpy().tobytes())
    if isinstance(value, dict):
        return {k: _tensors_as_bytes(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_tensors_as_bytes(v) for v in value)
    return value


def _bytes_as_tensors(value: Any) -> Any:
    """Undo :func:`_tensors_as_bytes`."""
    if isinstance(value, tuple) and len(value) == 3 and value[0] == "__tensor__":
        return torch.frombuffer(bytearray(value[2]), dtype=getattr(torch, value[1])).clone()
    if isinstance(value, dict):
        return {k: _bytes_as_tensors(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_bytes_as_tensors(v) for v in value)
    return value


def _native(states: dict[str, Any]) -> dict[str, Any]:
    """Undo :func:`_portable`, and drop CUDA states saved on other hardware."""
    states = dict(states)
    if len(states.get("torch.cuda") or []) != torch.cuda.device_count():
        states.pop("torch.cuda", None)
    if "numpy" in states:
        kind, keys, *rest = states["numpy"]
        states["numpy"] = (kind, keys.numpy(), *rest)
    return states

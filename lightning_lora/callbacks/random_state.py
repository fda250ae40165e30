"""Random state in the checkpoint, so a resumed run draws the same dropout masks as an uninterrupted one."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.seed import _collect_rng_states, _set_rng_states


class RandomStateCheckpoint(L.Callback):
    """Saves the Python, NumPy and torch (CPU and CUDA) random states with every checkpoint and puts
    them back when training resumes.

    The states saved are those at the end of the last completed training batch, so a checkpoint
    written on an interruption in the middle of a step (Ctrl-C, an exception) holds the same states
    as one written at that step's end. They are restored at ``on_train_start``, after model set-up, sanity validation and data loader creation,
    so nothing between the restore and the next training step draws from them. Every process gets
    rank zero's states (the one that writes the checkpoint); they are the same on every rank when the
    run seeds all ranks alike, as ``seed_everything`` does.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None
        self._at_batch_end: dict[str, Any] | None = None

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        # Runs before ModelCheckpoint's hook of the same batch (Lightning calls checkpoint callbacks last).
        self._at_batch_end = _collect_rng_states(include_cuda=torch.cuda.is_available())

    def state_dict(self) -> dict[str, Any]:
        states = dict(self._at_batch_end or _collect_rng_states(include_cuda=torch.cuda.is_available()))
        if "numpy" in states:  # its key array as a tensor: checkpoints stay loadable with weights_only=True
            kind, keys, *rest = states["numpy"]
            states["numpy"] = (kind, torch.from_numpy(keys.copy()), *rest)
        return {"rng": states}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict.get("rng")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._pending is None:
            return
        states, self._pending = self._pending, None
        if len(states.get("torch.cuda") or []) != torch.cuda.device_count():  # saved on other hardware
            states = {k: v for k, v in states.items() if k != "torch.cuda"}
        if "numpy" in states:
            kind, keys, *rest = states["numpy"]
            states["numpy"] = (kind, keys.numpy(), *rest)
        _set_rng_states(states)

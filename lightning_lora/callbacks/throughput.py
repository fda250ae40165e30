"""Training throughput on real tokens only (padding excluded) and model FLOPs utilisation (MFU).

Logged per window of training batches: ``train/tokens_per_sec`` (non-pad tokens),
``train/target_tokens_per_sec`` (tokens that carry the loss) and, when the device's peak is known,
``train/mfu``: the model FLOPs of the window (:class:`FlopCounts`) per second over the device peak.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.throughput import get_available_flops
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from lightning_lora.data.collate import IGNORE_INDEX, real_token_mask
from lightning_lora.models.methods import logical_numel

#: Dense bf16 peaks in TFLOP/s (NVIDIA datasheets) of GPUs that Lightning 2.6.6's ``get_available_flops``
#: misses or misreads: it reads every name containing "l4" as the L4 (121), so an L40 or L40S would get
#: the L4's peak, and it knows the H200 only by SXM1/NVL1 names. Matched as whole words, first key first.
GPU_PEAK_BF16_TFLOPS: dict[str, float] = {
    "L40S": 362.0,
    "L40": 181.0,
    "H200": 989.0,
}


def gpu_peak_flops(device: torch.device) -> float | None:
    """The bf16 dense peak FLOP/s of a CUDA device: Lightning's table, except for the GPUs above; None when
    neither knows it."""
    name = torch.cuda.get_device_name(device)
    for key, tflops in GPU_PEAK_BF16_TFLOPS.items():
        if re.search(rf"(?<!\w){re.escape(key)}(?!\w)", name):
            return tflops * 1e12
    peak = get_available_flops(device, torch.bfloat16)
    return float(peak) if peak else None


@functools.lru_cache(maxsize=None)
def measured_cpu_peak_flops(dtype: torch.dtype = torch.float32, size: int = 1536, repeats: int = 5) -> float:
    """Best FLOP/s of a ``size``-square matmul on this CPU with the current threads (measured once per process)."""
    generator = torch.Generator().manual_seed(0)  # never draws from the training run's random stream
    a = torch.randn(size, size, dtype=dtype, generator=generator)
    b = torch.randn(size, size, dtype=dtype, generator=generator)
    a @ b  # first call: thread pool and kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


@dataclass(frozen=True)
class FlopCounts:
    """What the training FLOPs of a (parameter-efficiently) fine-tuned transformer depend on.

    Per token, a frozen weight costs 4 FLOPs per parameter (2 in the forward matmul, 2 for the
    gradient of its input in the backward; no weight gradient) and a trainable weight 6 (plus 2 for
    its weight gradient): ``4 * frozen + 6 * trainable``. The LM head counts for the tokens that
    carry the loss only (a prompt or pad position needs no logits). Attention (PaLM, appendix B):
    per layer and token, ``Q K^T`` and ``A V`` cost ``2 * T * width`` each in the forward, and the
    backward twice the forward, so ``12 * layers * width * T`` for a sample of ``T`` tokens, that is
    ``12 * layers * width * T**2`` per sample (causal halving not taken, as in PaLM). Model FLOPs
    count work the model needs, not what an implementation spends: padding, logits of masked
    positions and recomputation lower the MFU instead of raising the count.

    Args:
        frozen: frozen parameters applied to every token (all but embeddings and the LM head).
        trainable: trainable parameters applied to every token (adapters, biases, ...).
        head_frozen: frozen LM head parameters (a tied input embedding counts here, once).
        head_trainable: trainable LM head parameters.
        layers: transformer layers.
        attention_width: query heads x head dimension.
    """

    frozen: int
    trainable: int
    head_frozen: int
    head_trainable: int
    layers: int
    attention_width: int

    def flops(self, tokens: int, head_tokens: int, sum_squared_lengths: int) -> float:
        """Training FLOPs (forward and backward) of a batch with these token counts."""
        return float(tokens * (4 * self.frozen + 6 * self.trainable)
                     + head_tokens * (4 * self.head_frozen + 6 * self.head_trainable)
                     + 12 * self.layers * self.attention_width * sum_squared_lengths)


def flop_counts(model: torch.nn.Module) -> FlopCounts:
    """Count the parameters of a Hugging Face model (PEFT-wrapped or not) by role; see :class:`FlopCounts`."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    head_ids = {id(p) for p in head.parameters()} if head is not None else set()
    lookups = {id(p) for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters()}
    counts = {"frozen": 0, "trainable": 0, "head_frozen": 0, "head_trainable": 0}
    seen: set[int] = set()
    for p in model.parameters():  # parameters() yields a tied weight once
        if id(p) in seen:
            continue
        seen.add(id(p))
        role = "head_" if id(p) in head_ids else ("" if id(p) not in lookups else None)
        if role is not None:
            counts[role + ("trainable" if p.requires_grad else "frozen")] += logical_numel(p)
    config = getattr(model, "config", None)
    config = config.get_text_config() if hasattr(config, "get_text_config") else config
    layers = _first_attr(config, "num_hidden_layers", "n_layer", "n_layers") or 0
    heads = _first_attr(config, "num_attention_heads", "n_head", "n_heads") or 0
    hidden = _first_attr(config, "hidden_size", "n_embd", "dim") or 0
    head_dim = getattr(config, "head_dim", None) or (hidden // heads if heads else 0)
    return FlopCounts(**counts, layers=layers, attention_width=heads * head_dim)


def _first_attr(config: Any, *names: str) -> int | None:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return None


def batch_counts(batch: dict[str, torch.Tensor]) -> tuple[int, int, int]:
    """Non-pad tokens, target tokens (next-token labels that are not -100) and the sum of squared
    sample lengths of a training batch, packed or not."""
    mask = real_token_mask(batch).bool()
    positions = batch.get("position_ids")
    if positions is None:
        positions = mask.long().cumsum(1) - 1
    # A sample of length T has positions 0..T-1, and the sum of 2p+1 over them is T**2.
    squared = int(((2 * positions + 1) * mask).sum())
    labels = batch.get("labels")
    targets = int((labels[:, 1:] != IGNORE_INDEX).sum()) if labels is not None and labels.ndim == 2 else 0
    return int(mask.sum()), targets, squared


class TokenThroughput(L.Callback):
    """Logs non-pad tokens/s, target (loss-bearing) tokens/s and MFU per window of training batches.

    Args:
        window: number of training batches averaged per logged value.
        peak_flops: the device's peak FLOP/s for ``train/mfu``. Unset: the bf16 dense peak of a
            known GPU (:func:`gpu_peak_flops`), or on CPU a matmul in the model's dtype timed once;
            an unknown GPU logs no MFU (set this). 0 turns MFU off.
    """

    def __init__(self, window: int = 20, peak_flops: float | None = None) -> None:
        self.window = window
        self.peak_flops = peak_flops
        self._peak: float | None = None
        self._counts: FlopCounts | None = None
        self._start: float | None = None
        self._tokens = 0
        self._targets = 0
        self._flops = 0.0
        self._batches = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        model = getattr(pl_module, "model", None)
        self._counts = flop_counts(model) if isinstance(model, torch.nn.Module) else None
        self._peak = self._resolve_peak(pl_module)

    def _resolve_peak(self, pl_module: L.LightningModule) -> float | None:
        if self.peak_flops is not None:
            return self.peak_flops or None
        device = pl_module.device
        if device.type == "cuda":
            peak = gpu_peak_flops(device)
            if peak is None:
                rank_zero_warn(f"No known peak FLOP/s for {torch.cuda.get_device_name(device)!r}; "
                               "set throughput.peak_flops to log train/mfu.")
            return peak
        if device.type == "cpu":
            dtype = next((p.dtype for p in pl_module.parameters() if p.is_floating_point()), torch.float32)
            peak = measured_cpu_peak_flops(dtype)
            rank_zero_info(f"[lightning_lora] MFU against this CPU's measured {dtype} matmul peak: "
                           f"{peak / 1e9:.0f} GFLOP/s ({torch.get_num_threads()} threads).")
            return peak
        return None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        if self._start is None:
            self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        tokens, targets, squared = batch_counts(batch)
        self._tokens += tokens
        self._targets += targets
        if self._counts is not None:
            self._flops += self._counts.flops(tokens, targets, squared)
        self._batches += 1
        if self._batches >= self.window:
            self._flush(trainer, pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Validation time is not training throughput: close the window before it starts.
        self._flush(trainer, pl_module)

    def _flush(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._batches and self._start is not None:
            elapsed = time.perf_counter() - self._start
            # Assumes ranks see similar batches: each rank's count times the world size.
            world = trainer.world_size
            metrics = {"train/tokens_per_sec": self._tokens * world / elapsed,
                       "train/target_tokens_per_sec": self._targets * world / elapsed}
            if self._peak and self._counts is not None:
                # Per device: this rank's FLOPs over one device's peak.
                metrics["train/mfu"] = self._flops / elapsed / self._peak
            if trainer.is_global_zero:
                for logger in trainer.loggers:
                    logger.log_metrics(metrics, step=trainer.global_step)
            if trainer.training:
                pl_module.log("tok/s", metrics["train/tokens_per_sec"], prog_bar=True, logger=False,
                              on_step=True, on_epoch=False)
        self._start, self._tokens, self._targets, self._flops, self._batches = None, 0, 0, 0.0, 0

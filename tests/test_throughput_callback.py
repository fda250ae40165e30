"""Throughput and MFU: FLOP counts by hand, the peak table, and the callback inside a short fit."""

from __future__ import annotations

from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import Logger

from lightning_lora.callbacks.throughput import (
    FlopCounts,
    TokenThroughput,
    batch_counts,
    flop_counts,
    gpu_peak_flops,
    measured_cpu_peak_flops,
)
from lightning_lora.data.collate import IGNORE_INDEX, pack_batch


def _hand_model():
    """Qwen2, 1 layer, hidden 8, 2 heads of 4, 1 KV head, MLP 16, vocab 32, tied; LoRA r=2 on q and v."""
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=1, vocab_size=32, tie_word_embeddings=True)
    return get_peft_model(Qwen2ForCausalLM(config), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))


def test_flop_counts_of_a_hand_computable_model():
    counts = flop_counts(_hand_model())
    # q 8x8+8, k 8x4+4, v 8x4+4, o 8x8, gate/up/down 3x8x16, two layer norms 8+8, final norm 8
    assert counts.frozen == 72 + 36 + 36 + 64 + 384 + 16 + 8 == 616
    # LoRA q: A 2x8 + B 8x2; v: A 2x8 + B 4x2
    assert counts.trainable == 32 + 24 == 56
    assert (counts.head_frozen, counts.head_trainable) == (32 * 8, 0)  # the tied embedding, counted once, as the head
    assert (counts.layers, counts.attention_width) == (1, 8)


def test_flops_of_a_batch_padded_or_packed():
    counts = FlopCounts(frozen=616, trainable=56, head_frozen=256, head_trainable=0, layers=1, attention_width=8)
    rows = [{"input_ids": [5, 6, 7], "labels": [5, 6, 7], "idx": 0},
            {"input_ids": [1, 2, 3, 4, 5], "labels": [IGNORE_INDEX, 2, 3, 4, 5], "idx": 1}]
    padded = {"input_ids": torch.tensor([[5, 6, 7, 0, 0], [1, 2, 3, 4, 5]]),
              "attention_mask": torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]),
              "labels": torch.tensor([[5, 6, 7, -100, -100], [-100, 2, 3, 4, 5]])}
    packed = pack_batch(rows, pad_id=0)
    # 8 tokens, 2 + 4 targets, 3**2 + 5**2 = 34
    assert batch_counts(padded) == batch_counts(packed) == (8, 6, 34)
    expected = 8 * (4 * 616 + 6 * 56) + 6 * (4 * 256) + 12 * 1 * 8 * 34
    assert counts.flops(*batch_counts(padded)) == expected == 31808


def test_known_gpu_peaks_and_a_measured_cpu_peak(monkeypatch):
    def peak_of(name: str) -> float | None:
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
        return gpu_peak_flops(torch.device("cuda", 0))

    assert peak_of("NVIDIA H100 80GB HBM3") == pytest.approx(989.4e12, rel=1e-3)  # Lightning's table
    assert peak_of("NVIDIA A100-SXM4-80GB") == 312e12 and peak_of("NVIDIA L4") == 121e12  # Lightning's table
    assert peak_of("NVIDIA L40") == 181e12 and peak_of("NVIDIA L40S") == 362e12  # not the L4 (Lightning says 121)
    assert peak_of("NVIDIA H200") == 989e12  # a name Lightning does not parse
    assert peak_of("Tesla K80") is None
    peak = measured_cpu_peak_flops(torch.float32, 256, 2)
    assert peak > 1e8 and measured_cpu_peak_flops(torch.float32, 256, 2) == peak  # measured once


class _Collect(Logger):
    def __init__(self) -> None:
        super().__init__()
        self.metrics: list[dict[str, float]] = []

    name = "collect"
    version = 0

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.metrics.append(dict(metrics))

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass


def test_the_callback_logs_tokens_per_second_and_mfu(tiny_qwen2, tmp_path):
    from lightning_lora.data.code import CodeSFTDataModule
    from lightning_lora.models.methods import LoraArgs
    from lightning_lora.modules.causal_lm import CausalLMModule

    rows = "".join(f'{{"input": "Print {i}.", "solution": "print({i})\\n", "output": ""}}\n' for i in range(24))
    (tmp_path / "d.jsonl").write_text(rows)
    data = CodeSFTDataModule(path=str(tmp_path / "d.jsonl"), tokenizer_name_or_path=str(tiny_qwen2), batch_size=4,
                             mode="prompt_solution", pack=True)
    module = CausalLMModule(str(tiny_qwen2), lora=LoraArgs(r=2))
    logger = _Collect()
    trainer = L.Trainer(max_steps=4, accelerator="cpu", logger=logger, callbacks=[TokenThroughput(window=2, peak_flops=1e12)],
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, default_root_dir=tmp_path)
    trainer.fit(module, datamodule=data)
    logged = [m for m in logger.metrics if "train/mfu" in m]
    assert len(logged) == 2
    counts = flop_counts(module.model)
    batches = [batch_counts(b) for b in data.train_dataloader()][:4]  # the same seeded batches as the fit
    for m, window in zip(logged, (batches[:2], batches[2:])):
        assert m["train/tokens_per_sec"] > m["train/target_tokens_per_sec"] > 0
        # Same window and elapsed time: MFU * peak / tokens per second = the window's FLOPs per token.
        expected = sum(counts.flops(*c) for c in window) / sum(c[0] for c in window)
        assert m["train/mfu"] * 1e12 / m["train/tokens_per_sec"] == pytest.approx(expected, rel=1e-6)

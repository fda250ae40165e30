"""Causal language model fine-tuning: SFT loss, token-weighted validation loss and perplexity."""

from __future__ import annotations

import math
from typing import Any

import torch
from torchmetrics import MeanMetric

from lightning_lora.backbone import load_causal_lm, load_tokenizer, resolve_dtype
from lightning_lora.methods import quantization_config
from lightning_lora.data.base import IGNORE_INDEX
from lightning_lora.modules.base import AdaptedModule


class CausalLMModule(AdaptedModule):
    """A Hugging Face causal LM with a fine-tuning method applied.

    Args:
        model_name_or_path: hub id, local directory, or ``tiny:<arch>`` (offline random-init model).
        method: ``lora``, ``dora``, ``qlora`` (4-bit base, CUDA only), ``ia3``, ``full``, ``bitfit``
            (bias terms only), ``peft`` (any PEFT config in ``peft_config``), or ``none`` (frozen:
            evaluate the base model).
        lora: LoRA settings (``lora``, ``dora`` and ``qlora``); unset target_modules = the architecture's default.
        ia3: IA3 settings (``ia3``); unset modules = the architecture's default.
        peft_config: any PEFT config as a dict, e.g. ``{peft_type: LOHA, r: 8, target_modules: [...]}`` (``peft``).
        optimizer: AdamW and learning-rate schedule.
        dtype: weights dtype at load time: ``float32``, ``bfloat16``, ``float16`` or ``auto``.
        attn_implementation: ``sdpa``, ``eager``, ``flash_attention_2``, or None for the model's default.
        gradient_checkpointing: recompute activations in backward to save memory.
    """

    task_type = "CAUSAL_LM"

    def init_metrics(self) -> None:
        self.train_loss = MeanMetric()
        self.val_loss = MeanMetric()
        self.test_loss = MeanMetric()

    def load_backbone(self, model_name_or_path: str, dtype: str, attn_implementation: str | None) -> torch.nn.Module:
        self.tokenizer = load_tokenizer(model_name_or_path)
        return load_causal_lm(model_name_or_path, dtype, attn_implementation, pad_token_id=self.tokenizer.pad_token_id,
                              quantization_config=quantization_config(self.method, resolve_dtype(dtype)))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None = None) -> Any:
        return self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)

    def _loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Mean next-token cross-entropy over target tokens, and the number of target tokens."""
        loss = self(batch["input_ids"], batch["attention_mask"], batch["labels"]).loss
        return loss, int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, tokens = self._loss(batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"Non-finite training loss ({loss.item()}) at global step {self.global_step}, batch {batch_idx}.")
        self.train_loss.update(loss.detach(), weight=tokens)
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # One value per optimizer step: the token-weighted mean over the accumulated micro-batches.
        self.log("train/loss", self.train_loss.compute(), prog_bar=True, on_step=True, on_epoch=False)
        self.train_loss.reset()

    def _eval_step(self, batch: dict[str, torch.Tensor], metric: MeanMetric) -> torch.Tensor:
        loss, tokens = self._loss(batch)
        metric.update(loss, weight=tokens)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._eval_step(batch, self.val_loss)

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._eval_step(batch, self.test_loss)

    def _log_eval(self, stage: str, metric: MeanMetric) -> None:
        loss = metric.compute()
        metric.reset()
        self.log(f"{stage}/loss", loss, prog_bar=True, sync_dist=False)
        self.log(f"{stage}/perplexity", torch.exp(loss.clamp(max=math.log(1e30))), sync_dist=False)

    def on_validation_epoch_end(self) -> None:
        self._log_eval("val", self.val_loss)

    def on_test_epoch_end(self) -> None:
        self._log_eval("test", self.test_loss)

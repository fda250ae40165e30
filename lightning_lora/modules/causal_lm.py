"""Causal language model fine-tuning: SFT loss, token-weighted validation loss and perplexity."""

from __future__ import annotations

import math
from typing import Any

import torch
from torchmetrics import MeanMetric

from lightning_lora.benchmark.extract import extract_code
from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.data.collate import IGNORE_INDEX
from lightning_lora.data.packing import packing_leak
from lightning_lora.errors import UserError
from lightning_lora.inference.generation import GenerationOptions, generate_from_ids
from lightning_lora.models.loading import load_causal_lm, load_tokenizer, resolve_dtype
from lightning_lora.models.methods import quantization_config
from lightning_lora.modules.base import AdaptedModule
from lightning_lora.modules.precision import adapter_input_cast, linear_cross_entropy, use_fast_adapter_dropout
from lightning_lora.problems.sources import Problem

#: Architectures whose causal-LM logits are exactly ``lm_head(last_hidden_state)`` and whose loss is
#: the plain token-mean cross-entropy (checked against the model's own loss in tests/test_packing.py).
PLAIN_HEAD_MODEL_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3", "gpt2"})


class CausalLMModule(AdaptedModule):
    """A Hugging Face causal LM with a fine-tuning method applied.

    Args:
        model_name_or_path: hub id, local directory, ``.gguf`` file (de-quantized into ``dtype``; needs
            the ``gguf`` package), ``tiny:<arch>`` (offline random-init model) or ``real:<name>`` (a model
            fetched by ``python -m lightning_lora models fetch``).
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
        gguf_file: the GGUF file inside the folder or hub repository ``model_name_or_path`` names.
        efficient_loss: compute logits only at the target positions (the hidden states there go
            through the LM head; prompt, pad and packing gaps never reach it) and give right-padded
            batches no padding mask (with causal attention no real token sees the padding, and the
            attention kernel takes its faster causal path). Same loss as the Hugging Face model's to
            float precision; architectures whose head does more than a linear layer (logit scaling,
            soft-capping) and prompt-learning methods always use the model's own loss.
        compile: compile the transformer body with ``torch.compile`` (dynamic shapes) for training.
            The first steps pay the compilation (about 70 s for the throughput benchmark's model on
            this project's 2-core CPU, for 1.12x afterwards: worth it only for long runs).
        max_new_tokens: answer budget when generating (``predict``; greedy).
    """

    task_type = "CAUSAL_LM"

    def __init__(self, model_name_or_path: str, efficient_loss: bool = True, compile: bool = False,
                 max_new_tokens: int = 256, **kwargs: Any) -> None:
        super().__init__(model_name_or_path, **kwargs)
        if max_new_tokens < 1:
            raise UserError(f"model.max_new_tokens must be at least 1, got {max_new_tokens}.")
        self.max_new_tokens = max_new_tokens
        self.efficient_loss = efficient_loss
        self.compile_body = compile
        # The name with model.gguf_file joined (see AdaptedModule); the training CLI hands over the data's tokenizer.
        tokenizer = load_tokenizer(self.model_name_or_path)
        quantization = quantization_config(self.method, resolve_dtype(self.load_dtype))
        self.attach_model(load_causal_lm(self.model_name_or_path, self.load_dtype, self.attn_implementation,
                                         pad_token_id=tokenizer.pad_token_id, quantization_config=quantization),
                          tokenizer)
        use_fast_adapter_dropout(self.model)
        self.train_loss = MeanMetric()  # each process trains on its own shard: synced over processes
        # Every process evaluates the whole split (see BaseDataModule), so evaluation metrics stay local.
        self.val_loss = MeanMetric(sync_on_compute=False)
        self.test_loss = MeanMetric(sync_on_compute=False)

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and getattr(self.trainer.datamodule, "pack", False):
            self.check_packing()
        if stage == "fit" and self.compile_body:
            self.compiled_module().compile(dynamic=True)  # in place: parameter names, checkpoints unchanged

    def compiled_module(self) -> torch.nn.Module:
        """What ``compile`` compiles: the transformer body on the efficient-loss path, else the whole model."""
        parts = self._head_and_body() if self.efficient_loss else None
        return parts[0] if parts is not None else self.model

    def check_packing(self) -> None:
        """Refuse ``data.pack`` where packed samples would attend to each other (checked on the model itself)."""
        config = getattr(self.model, "config", None)
        vocab_size = int(getattr(config, "vocab_size", None) or len(self.tokenizer))
        half = next(self.model.parameters()).dtype in (torch.float16, torch.bfloat16)
        leak = packing_leak(self.model, vocab_size)
        if leak > (0.02 if half else 1e-3):
            model_type = getattr(config, "model_type", type(self.model).__name__)
            raise UserError(
                f"data.pack: with model type {model_type!r} and model.method {self.method!r}, a packed sample's logits "
                f"change by {leak:.1%} when another sample precedes it in the row (its attention mask ignores the "
                f"restarting position ids), so packed samples would see each other; use data.group_by_length instead.")

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, labels: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None) -> Any:
        # No KV cache in training: it is useless there, and with one transformers would not detect packed samples.
        return self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, position_ids=position_ids,
                          use_cache=False)

    def _loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Mean next-token cross-entropy over target tokens, and the number of target tokens.

        A packed batch (:mod:`lightning_lora.data.packing`) carries ``position_ids`` and no attention
        mask; the model then keeps attention within each packed sample. Under autocast (bf16-mixed)
        the adapters take the bf16 activation as it is: no cast to fp32 and back (except with gradient
        checkpointing, whose recomputation in the backward must see the same casts as the forward).
        """
        autocast = torch.is_autocast_enabled(batch["input_ids"].device.type)
        with adapter_input_cast(self.model, not autocast or self.gradient_checkpointing):
            return self._forward_loss(batch)

    def _forward_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        labels = batch["labels"]
        targets = labels[:, 1:] != IGNORE_INDEX
        count = int(targets.sum())
        attention_mask = batch.get("attention_mask")
        position_ids = batch.get("position_ids")
        parts = self._head_and_body() if self.efficient_loss else None
        if parts is None:
            return self(batch["input_ids"], attention_mask, labels, position_ids).loss, count
        body, head = parts
        if attention_mask is not None and bool((attention_mask[:, 1:] <= attention_mask[:, :-1]).all()):
            attention_mask = None  # right padding: causal attention never lets a real token see a pad
        hidden = body(input_ids=batch["input_ids"], attention_mask=attention_mask, position_ids=position_ids,
                      use_cache=False).last_hidden_state
        # Position t predicts token t+1: only the hidden states of target positions reach the head,
        # chunk by chunk (the full logits never exist), with an fp32 loss whatever the weights' dtype.
        weight = _plain_head_weight(head)
        if weight is not None:
            return linear_cross_entropy(hidden[:, :-1][targets], weight, labels[:, 1:][targets]) / count, count
        logits = head(hidden[:, :-1][targets]).float()
        loss = torch.nn.functional.cross_entropy(logits, labels[:, 1:][targets], reduction="sum") / count
        return loss, count

    def _head_and_body(self) -> tuple[torch.nn.Module, torch.nn.Module] | None:
        """The transformer body and the LM head of the adapted model, or None where its loss must be the model's own."""
        model = self.model
        if getattr(model, "peft_config", None) is not None:  # a PeftModel (LoRA layers sit inside the base model)
            if model.active_peft_config.is_prompt_learning:
                return None  # virtual tokens are added by PeftModel.forward
            model = model.get_base_model()
        config = getattr(model, "config", None)
        if getattr(config, "model_type", None) not in PLAIN_HEAD_MODEL_TYPES:
            return None
        head = model.get_output_embeddings()
        body = model.base_model
        if head is None or body is model:
            return None
        return body, head

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss, tokens = self._loss(batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"Non-finite training loss ({loss.item()}) at global step {self.global_step}, "
                                     f"batch {batch_idx}.")
        self.train_loss.update(loss.detach(), weight=tokens)
        return loss * self.token_share(tokens)

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

    def predict_rows(self, batch: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        """The greedy answer to each prompt, and the program in it (``None`` when it holds no code)."""
        texts = generate_from_ids(self.model, self.tokenizer, batch["prompt_input_ids"], batch["prompt_attention_mask"],
                                  GenerationOptions(max_new_tokens=self.max_new_tokens))
        return [{"idx": idx, "completion": text, "program": extract_code(text)}
                for idx, text in zip(batch["idx"].tolist(), texts)]

    def summarize_predictions(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Rows with stdin/stdout ``tests`` get their program run on them in the sandbox: a ``verdict`` each."""
        tested = [(str(i), r) for i, r in enumerate(records) if r.get("tests")]
        if not tested:
            return {}
        results = evaluate([Problem(task_id=k, prompt="", tests=r["tests"]) for k, r in tested],
                           [{"task_id": k, "completion": r["completion"]} for k, r in tested], progress=False)
        verdicts = {s["task_id"]: s for s in results["samples"]}
        for key, record in tested:
            v = verdicts[key]
            record["verdict"] = {"status": v["status"], "first_failing_test": v["first_failing_test"], "detail": v["detail"]}
        summary = results["summary"]
        return {"with_tests": len(tested), "passed": summary["problems_passed"], "isolation": summary["isolation"]}


def _plain_head_weight(head: torch.nn.Module) -> torch.Tensor | None:
    """The head's whole weight when the head is a bias-free linear layer; None for anything else, or for a
    weight a sharding strategy has partitioned (it is whole only inside the head's own forward)."""
    if not isinstance(head, torch.nn.Linear) or head.bias is not None:
        return None
    weight = head.weight
    return weight if tuple(weight.shape) == (head.out_features, head.in_features) else None

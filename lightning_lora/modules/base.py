"""What every task module shares: the adapted model, optimizer + schedule, lean self-checking checkpoints."""

from __future__ import annotations

import json
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info

from lightning_lora.checkpoints.integrity import DIGEST_KEY, checkpoint_digests
from lightning_lora.checkpoints.reading import EVERYTHING, METADATA_KEY, WEIGHTS, check_checkpoint, verify_checkpoint
from lightning_lora.errors import UserError
from lightning_lora.lightning_internals import has_trainer
from lightning_lora.models.loading import with_gguf_file
from lightning_lora.models.methods import (
    IA3Args,
    LoraArgs,
    apply_method,
    check_method_available,
    method_metadata,
    parameter_report,
    peft_config_from_dict,
)
from lightning_lora.modules.outputs import write_eval_outputs

SCHEDULERS = ("cosine", "linear", "constant")


@dataclass
class OptimizerArgs:
    """AdamW and its learning-rate schedule.

    Args:
        lr: peak learning rate.
        weight_decay: AdamW weight decay, applied to matrices only (not to biases and norms).
        betas: AdamW betas.
        eps: AdamW epsilon.
        scheduler: ``cosine`` or ``linear`` decay to zero after warmup, or ``constant`` after warmup.
        warmup_steps: optimizer steps of linear warmup from zero.
    """

    lr: float = 2e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    scheduler: str = "cosine"
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise UserError(f"model.optimizer.lr must be positive, got {self.lr}.")
        if self.scheduler not in SCHEDULERS:
            raise UserError(f"model.optimizer.scheduler must be one of {', '.join(SCHEDULERS)}, got {self.scheduler!r}.")
        if self.warmup_steps < 0:
            raise UserError(f"model.optimizer.warmup_steps must be >= 0, got {self.warmup_steps}.")


class AdaptedModule(L.LightningModule):
    """Holds ``self.model`` (a Hugging Face model with a fine-tuning method applied).

    A task module sets its own fields after ``super().__init__`` (which checks the method and loads
    nothing), then loads its backbone and tokenizer and hands them to :meth:`attach_model`, and
    implements the steps. Checkpoints keep only trainable weights plus a metadata block that is
    checked when loading.
    """

    task_type = "CAUSAL_LM"

    def __init__(
        self,
        model_name_or_path: str,
        method: str = "lora",
        lora: LoraArgs = LoraArgs(),
        ia3: IA3Args = IA3Args(),
        peft_config: dict[str, Any] | None = None,
        optimizer: OptimizerArgs = OptimizerArgs(),
        dtype: str = "float32",
        attn_implementation: str | None = "sdpa",
        gradient_checkpointing: bool = False,
        gguf_file: str | None = None,
    ) -> None:
        super().__init__()
        # Refuse what cannot work (QLoRA on CPU, a bad PEFT dict) before any weights load.
        check_method_available(method)
        if method == "peft":
            if peft_config is None:
                raise UserError("model.method 'peft' needs model.peft_config (a PEFT config as a dict).")
            peft_config_from_dict(peft_config, self.task_type)
        self.save_hyperparameters({
            "model_name_or_path": model_name_or_path, "method": method, "lora": asdict(lora), "ia3": asdict(ia3),
            "peft_config": peft_config, "optimizer": {**asdict(optimizer), "betas": list(optimizer.betas)}, "dtype": dtype,
            "attn_implementation": attn_implementation, "gradient_checkpointing": gradient_checkpointing,
            "gguf_file": gguf_file,
        })
        # One name for the weights' source: with a GGUF file in a folder (or hub repository), the file's path.
        self.model_name_or_path = model_name_or_path = with_gguf_file(model_name_or_path, gguf_file)
        self.method = method
        self.lora = lora
        self.ia3 = ia3
        self.peft_config = peft_config
        self.optimizer_args = optimizer
        self.load_dtype = dtype
        self.attn_implementation = attn_implementation
        self.gradient_checkpointing = gradient_checkpointing
        # The checkpoint holds trainable weights only; key checking is done in on_load_checkpoint.
        self.strict_loading = False
        self.loaded_step: int | None = None

    def attach_model(self, backbone: torch.nn.Module, tokenizer: Any) -> None:
        """Apply the method to ``backbone`` and keep it as ``self.model`` (and ``tokenizer`` as ``self.tokenizer``).

        A task module calls this once, at the end of its ``__init__``.
        """
        self.tokenizer = tokenizer
        self.base_fingerprint = _fingerprint(self.model_name_or_path, backbone)
        if self.gradient_checkpointing:
            # Non-reentrant checkpointing keeps gradients flowing into adapters whose inputs are frozen.
            backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            backbone.config.use_cache = False
        self.model = apply_method(backbone, self.method, self.lora, self.task_type, ia3=self.ia3,
                                  peft_config=self.peft_config)
        self.model.train()  # from_pretrained returns eval mode; dropout must be live in training
        self.params = parameter_report(self.model)
        # Names and shapes as built: a sharding strategy (FSDP) later renames parameters and flattens them.
        self._trainable_ndim = {name: p.ndim for name, p in self.model.named_parameters() if p.requires_grad}

    def setup(self, stage: str) -> None:
        if self.method == "qlora" and self.trainer.world_size > 1:
            raise UserError("model.method 'qlora' runs on a single device: its 4-bit base is placed on one GPU at load "
                            f"time; use trainer.devices 1 (got {self.trainer.world_size} processes) or method lora.")
        self._check_positions(self.trainer.datamodule if has_trainer(self) else None)

    def _check_positions(self, datamodule: Any) -> None:
        """Refuse samples longer than the model has positions for now, not as an IndexError deep in a forward pass."""
        config = getattr(self.model, "config", None)
        limit = next((getattr(config, name) for name in ("max_position_embeddings", "n_positions")
                      if isinstance(getattr(config, name, None), int)), None)
        max_length = getattr(datamodule, "max_length", None)
        if limit is None or not isinstance(max_length, int) or max_length <= limit:
            return
        longest = datamodule.longest_sample() if hasattr(datamodule, "longest_sample") else max_length
        if longest > limit:
            raise UserError(f"data.max_length {max_length} is above the position limit of {self.model_name_or_path} "
                            f"({limit} tokens), and the data has samples of up to {longest} tokens; "
                            f"set --data.max_length {limit} or less.")

    # -- parameters -----------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        p = self.params
        rank_zero_info(f"[lightning_lora] method={self.method}: {p['trainable_params']:,} trainable of "
                       f"{p['total_params']:,} parameters ({p['trainable_percent']:.3f}%), "
                       f"{p['trainable_bytes'] / 2**20:.2f} MiB trainable.")
        if self.logger is not None:
            self.logger.log_metrics({f"params/{k}": float(v) for k, v in p.items()}, step=self.global_step)
        log_dir = self.trainer.log_dir
        if self.trainer.is_global_zero and log_dir:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            (Path(log_dir) / "params.json").write_text(json.dumps({"method": self.method, **p}, indent=2) + "\n")

    def on_train_start(self) -> None:
        self._train_started = time.perf_counter()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()

    def on_train_end(self) -> None:
        """Write ``train_summary.json``: wall time, peak memory and steps of this fit (for comparisons)."""
        log_dir = self.trainer.log_dir
        if not self.trainer.is_global_zero or not log_dir:
            return
        summary = {"method": self.method, "global_step": self.global_step,
                   "train_time_s": round(time.perf_counter() - getattr(self, "_train_started", time.perf_counter()), 3),
                   "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                   "peak_cuda_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch.cuda.is_available() else None}
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        (Path(log_dir) / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    # -- optimisation ---------------------------------------------------------------------------
    def token_share(self, tokens: int) -> float | torch.Tensor:
        """Factor that turns this process's per-token mean loss into its share of the step's loss.

        Data-parallel strategies average gradients over processes. Scaled by this factor (local
        tokens x processes / tokens of all processes), that average is the gradient of the mean
        over every target token of the step, as one process with the whole batch would compute it,
        however the tokens fall between processes. 1 on a single process.
        """
        if not has_trainer(self) or self.trainer.world_size == 1:
            return 1.0
        local = torch.tensor(float(tokens), device=self.device)
        total = self.trainer.strategy.reduce(local.clone(), reduce_op="sum")
        return local * self.trainer.world_size / total.clamp(min=1.0)

    def configure_optimizers(self) -> Any:
        from transformers import get_scheduler

        args = self.optimizer_args
        trainable = [(_unwrapped_name(n), p) for n, p in self.model.named_parameters() if p.requires_grad]
        if not trainable:
            raise UserError(f"model.method {self.method!r} leaves no parameter trainable; nothing to fit.")
        decay = [p for n, p in trainable if self._trainable_ndim.get(n, p.ndim) >= 2]  # matrices only
        no_decay = [p for n, p in trainable if self._trainable_ndim.get(n, p.ndim) < 2]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=args.lr, betas=args.betas, eps=args.eps,
        )
        name = "constant_with_warmup" if args.scheduler == "constant" else args.scheduler
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = get_scheduler(name, optimizer, num_warmup_steps=args.warmup_steps, num_training_steps=total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # -- predict --------------------------------------------------------------------------------
    def predict_rows(self, batch: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        """One ``{"idx": row index, ...prediction fields}`` per row of a predict batch; task modules implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not predict.")

    def summarize_predictions(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Figures over all predictions (written as ``metrics.json``); may add fields to the records."""
        return {}

    def on_predict_epoch_start(self) -> None:
        self._predicted: list[dict[str, Any]] = []

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> list[dict[str, Any]]:
        rows = self.predict_rows(batch)
        self._predicted.extend(rows)
        return rows

    def on_predict_epoch_end(self) -> None:
        """Write ``predictions.jsonl`` (each row's own fields, then the prediction) in the run folder."""
        datamodule = self.trainer.datamodule
        records = [{**datamodule.predict_record(row["idx"]), **{k: v for k, v in row.items() if k != "idx"}}
                   for row in sorted(self._predicted, key=lambda r: r["idx"])]
        self._predicted = []
        if not self.trainer.is_global_zero:
            return
        summary = self.summarize_predictions(records)
        folder = write_eval_outputs(self.trainer, "predict", datamodule.predict_path, summary, records, self.method)
        rank_zero_info(f"[lightning_lora] predict: {len(records)} predictions written to {folder / 'predictions.jsonl'}")

    # -- checkpoints ----------------------------------------------------------------------------
    def checkpoint_metadata(self) -> dict[str, Any]:
        """Primitive description of what a checkpoint of this module belongs to."""
        return {"base_model": self.base_fingerprint, **method_metadata(self.method, self.lora, self.ia3, self.peft_config),
                "task_type": self.task_type, "trainable_keys": self._trainable_state_keys(),
                "logger_version": getattr(self.logger, "version", None) if has_trainer(self) else None}

    def _trainable_state_keys(self) -> list[str]:
        return [f"model.{k}" for k in sorted(self._trainable_ndim)]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the trainable weights only, and record what the checkpoint belongs to and the digests of its
        weights and optimizer state (Lightning calls this last, once everything else is in ``checkpoint``)."""
        keep = set(self._trainable_state_keys())
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in keep}
        checkpoint[METADATA_KEY] = {**self.checkpoint_metadata(), DIGEST_KEY: checkpoint_digests(checkpoint)}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint of another model, or one whose tensors changed since they were saved: the weights,
        and for a resumed fit the optimizer state too (the file is named: the Trainer's ``ckpt_path``)."""
        check_checkpoint(checkpoint, self.checkpoint_metadata())
        trainer = self.trainer if has_trainer(self) else None
        fitting = trainer is not None and trainer.state.fn == TrainerFn.FITTING
        verify_checkpoint(checkpoint, (trainer.ckpt_path if trainer is not None else None) or "The checkpoint",
                          EVERYTHING if fitting else WEIGHTS)
        self.loaded_step = int(checkpoint.get("global_step", 0))


def _unwrapped_name(name: str) -> str:
    """A parameter's name without the prefixes FSDP inserts when it wraps modules."""
    return name.replace("_fsdp_wrapped_module.", "").replace("_checkpoint_wrapped_module.", "")


def _fingerprint(name: str, model: torch.nn.Module) -> dict[str, Any]:
    config = getattr(model, "config", None)
    return {"name": name, "model_type": getattr(config, "model_type", type(model).__name__),
            "num_parameters": sum(p.numel() for p in model.parameters())}

"""Sequence classification: accuracy, precision, recall, F1 (macro and weighted), confusion matrix."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric

from lightning_lora.errors import UserError
from lightning_lora.evaluation.metrics import classification_metrics, confusion_matrix
from lightning_lora.lightning_internals import has_trainer
from lightning_lora.models.loading import load_sequence_classifier, load_tokenizer
from lightning_lora.modules.base import AdaptedModule
from lightning_lora.modules.outputs import confusion_figure, write_eval_outputs


class SequenceClassifierModule(AdaptedModule):
    """A Hugging Face encoder or decoder with a classification head and a fine-tuning method applied.

    Args:
        model_name_or_path: hub id, local directory, ``.gguf`` file, ``tiny:<arch>`` or ``real:<name>``.
        num_labels: number of classes; filled in from the data module when left unset.
        label_names: class names in label order; filled in from the data module when left unset.
        **kwargs: method, lora, optimizer, dtype, attn_implementation, gradient_checkpointing, gguf_file as in
            :class:`~lightning_lora.modules.causal_lm.CausalLMModule`.
    """

    task_type = "SEQ_CLS"

    def __init__(self, model_name_or_path: str, num_labels: int | None = None,
                 label_names: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(model_name_or_path, **kwargs)
        if num_labels is None and not label_names:
            raise UserError("model.num_labels is unset and no label names are known; set model.num_labels "
                            "or use a data module that provides them.")
        self.num_labels = num_labels or len(label_names or [])
        if label_names and len(label_names) != self.num_labels:
            raise UserError(f"model.label_names has {len(label_names)} names but model.num_labels is {self.num_labels}.")
        self.label_names = list(label_names) if label_names else [str(i) for i in range(self.num_labels)]
        self.hparams["num_labels"] = self.num_labels
        self.hparams["label_names"] = self.label_names
        # The name with model.gguf_file joined (see AdaptedModule); the training CLI hands over the data's tokenizer.
        tokenizer = load_tokenizer(self.model_name_or_path)
        self.attach_model(load_sequence_classifier(self.model_name_or_path, self.label_names, self.load_dtype,
                                                   self.attn_implementation, pad_token_id=tokenizer.pad_token_id),
                          tokenizer)
        self.train_loss = MeanMetric()  # each process trains on its own shard: synced over processes
        self.eval_metrics = torch.nn.ModuleDict({stage: StageMetrics(self.num_labels, stage) for stage in ("val", "test")})
        self._predictions: list[dict[str, Any]] = []

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits.float(), batch["labels"])
        if not torch.isfinite(loss):
            raise FloatingPointError(f"Non-finite training loss ({loss.item()}) at global step {self.global_step}, "
                                     f"batch {batch_idx}.")
        self.train_loss.update(loss.detach(), weight=batch["labels"].numel())
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        self.log("train/loss", self.train_loss.compute(), prog_bar=True, on_step=True, on_epoch=False)
        self.train_loss.reset()

    def _eval_step(self, batch: dict[str, torch.Tensor], stage: str) -> None:
        logits = self(batch["input_ids"], batch["attention_mask"]).float()
        loss = F.cross_entropy(logits, batch["labels"])
        preds = logits.argmax(-1)
        self.eval_metrics[stage].update(loss, preds, batch["labels"])
        if self._writes_outputs():
            probs = logits.softmax(-1)
            for idx, label, pred, prob in zip(batch["idx"].tolist(), batch["labels"].tolist(), preds.tolist(), probs.tolist()):
                self._predictions.append({"idx": idx, "label": label, "prediction": pred, "probabilities": prob})

    def predict_rows(self, batch: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        """The most likely class name and every class's probability."""
        probs = self(batch["input_ids"], batch["attention_mask"]).float().softmax(-1)
        return [{"idx": idx, "prediction": self.label_names[int(p.argmax())],
                 "probabilities": dict(zip(self.label_names, (round(x, 6) for x in p.tolist())))}
                for idx, p in zip(batch["idx"].tolist(), probs)]

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def _writes_outputs(self) -> bool:
        """Prediction files are written by ``validate`` and ``test`` runs, not by validation during ``fit``."""
        return has_trainer(self) and self.trainer.state.fn in ("validate", "test")

    def _end_eval(self, stage: str) -> None:
        loss, metrics, confusion = self.eval_metrics[stage].compute_and_reset()
        self.log(f"{stage}/loss", loss, prog_bar=True)
        for name, value in metrics.items():
            self.log(name, value, prog_bar=name.endswith("/accuracy"))
        if not self.trainer.is_global_zero:
            return
        figure = confusion_figure(confusion, self.label_names, title=f"{stage} confusion matrix, step {self.global_step}")
        for logger in self.loggers:
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "add_figure"):
                experiment.add_figure(f"{stage}/confusion_matrix", figure, global_step=self.global_step)
        if self._writes_outputs():
            self._write_outputs(stage, float(loss), {k: float(v) for k, v in metrics.items()}, confusion)

    def _write_outputs(self, stage: str, loss: float, metrics: dict[str, float], confusion: torch.Tensor) -> None:
        datamodule = self.trainer.datamodule
        split = datamodule.eval_split("test" if stage == "test" else "validate")
        rows = []
        for p in sorted(self._predictions, key=lambda r: r["idx"]):
            rows.append({"text": datamodule.text_of(split, p["idx"]), "label": self.label_names[p["label"]],
                         "prediction": self.label_names[p["prediction"]],
                         "probabilities": dict(zip(self.label_names, (round(x, 6) for x in p["probabilities"])))})
        self._predictions = []
        summary = {f"{stage}/loss": loss, **metrics, "confusion_matrix": confusion.tolist(), "label_names": self.label_names}
        write_eval_outputs(self.trainer, stage, split, summary, rows, self.method)

    def on_validation_epoch_end(self) -> None:
        self._end_eval("val")

    def on_test_epoch_end(self) -> None:
        self._end_eval("test")


class StageMetrics(torch.nn.Module):
    """Loss, classification metrics and confusion matrix of one evaluation stage (``val`` or ``test``).

    Every process evaluates the whole split (see BaseDataModule), so these stay local (no sync).
    """

    def __init__(self, num_labels: int, stage: str) -> None:
        super().__init__()
        self.loss = MeanMetric(sync_on_compute=False)
        self.metrics = classification_metrics(num_labels, sync_on_compute=False).clone(prefix=f"{stage}/")
        self.confusion = confusion_matrix(num_labels, sync_on_compute=False)

    def update(self, loss: torch.Tensor, preds: torch.Tensor, labels: torch.Tensor) -> None:
        self.loss.update(loss, weight=labels.numel())
        self.metrics.update(preds, labels)
        self.confusion.update(preds, labels)

    def compute_and_reset(self) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """(mean loss, ``{"<stage>/<metric>": value}``, confusion matrix on the CPU), then start over."""
        result = self.loss.compute(), dict(self.metrics.compute()), self.confusion.compute().cpu()
        for metric in (self.loss, self.metrics, self.confusion):
            metric.reset()
        return result

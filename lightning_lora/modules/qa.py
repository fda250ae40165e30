"""Generative question answering with a causal LM: SFT loss, then greedy answers scored like SQuAD v2."""

from __future__ import annotations

from typing import Any

import torch

from lightning_lora.evaluation.metrics import squad_v2_scores, text_overlap_scores
from lightning_lora.lightning_internals import has_trainer
from lightning_lora.modules.causal_lm import CausalLMModule
from lightning_lora.modules.outputs import write_eval_outputs


class GenerativeQAModule(CausalLMModule):
    """A causal LM fine-tuned to answer from a context, or to say the question is unanswerable.

    Args:
        model_name_or_path: hub id, local directory, ``.gguf`` file, ``tiny:<arch>`` or ``real:<name>``.
        max_new_tokens: answer length budget when generating.
        generate_during_fit: also generate and score answers in the validations during ``fit``
            (``validate`` and ``test`` always do).
        **kwargs: method, lora, optimizer, dtype, attn_implementation, gradient_checkpointing, gguf_file as in
            :class:`~lightning_lora.modules.causal_lm.CausalLMModule`.
    """

    def __init__(self, model_name_or_path: str, max_new_tokens: int = 32, generate_during_fit: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(model_name_or_path, max_new_tokens=max_new_tokens, **kwargs)
        self.generate_during_fit = generate_during_fit
        self._answers: list[dict[str, Any]] = []

    def _generates(self) -> bool:
        if not has_trainer(self):
            return False
        return self.trainer.state.fn in ("validate", "test") or self.generate_during_fit

    @torch.no_grad()
    def generate_answers(self, batch: dict[str, torch.Tensor]) -> list[str]:
        """Greedy answers for the left-padded prompts of a batch (KV cache on)."""
        tok = self.tokenizer
        out = self.model.generate(input_ids=batch["prompt_input_ids"], attention_mask=batch["prompt_attention_mask"],
                                  max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        texts = tok.batch_decode(out[:, batch["prompt_input_ids"].shape[1]:], skip_special_tokens=True)
        return [text.strip() for text in texts]

    def predict_rows(self, batch: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        """The answer, and whether it is the unanswerable marker."""
        marker = self.trainer.datamodule.unanswerable_text.strip().lower()
        return [{"idx": idx, "prediction": answer, "unanswerable": answer.strip().lower().rstrip(".") == marker}
                for idx, answer in zip(batch["idx"].tolist(), self.generate_answers(batch))]

    def _eval_step(self, batch: dict[str, torch.Tensor], metric: Any) -> torch.Tensor:
        loss = super()._eval_step(batch, metric)
        if self._generates():
            for idx, answer in zip(batch["idx"].tolist(), self.generate_answers(batch)):
                self._answers.append({"idx": idx, "prediction": answer})
        return loss

    def _log_eval(self, stage: str, metric: Any) -> None:
        loss = float(metric.compute())
        super()._log_eval(stage, metric)
        if not self._answers:
            return
        datamodule = self.trainer.datamodule
        split = datamodule.eval_split("test" if stage == "test" else "validate")
        rows = sorted(self._answers, key=lambda r: r["idx"])
        self._answers = []
        unanswerable = datamodule.unanswerable_text.strip().lower()
        golds = [datamodule.gold_answers(split, r["idx"]) for r in rows]
        # Saying the unanswerable phrase is the empty answer of SQuAD v2.
        predictions = ["" if r["prediction"].strip().lower().rstrip(".") == unanswerable else r["prediction"] for r in rows]
        squad = squad_v2_scores(predictions, golds)
        overlap = text_overlap_scores(predictions, golds)
        self.log_dict({f"{stage}/exact": squad["exact"], f"{stage}/f1": squad["f1"],
                       f"{stage}/bleu1": overlap["bleu1"], f"{stage}/bleu4": overlap["bleu4"],
                       f"{stage}/rougeL_f1": overlap["rougeL_f1"]}, prog_bar=False)
        for part in ("HasAns", "NoAns"):
            if squad[part]["total"]:
                self.log_dict({f"{stage}/{part}_exact": squad[part]["exact"], f"{stage}/{part}_f1": squad[part]["f1"]})
        if self.trainer.is_global_zero and self.trainer.state.fn in ("validate", "test"):
            records = [{**datamodule.question_of(split, r["idx"]), "answers": gold, "prediction": r["prediction"],
                        "scored_as": pred} for r, gold, pred in zip(rows, golds, predictions)]
            write_eval_outputs(self.trainer, stage, split, {f"{stage}/loss": loss, "squad_v2": squad, **overlap},
                               records, self.method)

"""Question answering data in the SQuAD v2 schema (``context``, ``question``, ``answers{text, answer_start}``).

Generative QA for a causal LM: the prompt holds the context and the question (through the chat
template when the tokenizer has one), the target is the first gold answer, or ``unanswerable_text``
for a question without one. Evaluation generates from the prompt alone and scores against every gold answer.
"""

from __future__ import annotations

from typing import Any

import torch

from lightning_lora.data.base import BaseDataModule, prompt_answer_tokens, prompt_tokens
from lightning_lora.data.collate import pad_sequences
from lightning_lora.data.sources import DataError

DEFAULT_TEMPLATE = "Answer from the context, or say \"{unanswerable}\".\nContext: {context}\nQuestion: {question}"


class QADataModule(BaseDataModule):
    """SQuAD v2 style question answering, unanswerable questions included.

    Args:
        context_field: column with the passage.
        question_field: column with the question.
        answers_field: column with ``{"text": [...], "answer_start": [...]}``; an empty list means unanswerable.
        unanswerable_text: the target (and expected answer) for questions without an answer.
        prompt_template: user message, with ``{context}``, ``{question}`` and ``{unanswerable}`` placeholders.
        system_prompt: system message for chat templates.
        **kwargs: see :class:`~lightning_lora.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        path: str = "rajpurkar/squad_v2",
        context_field: str = "context",
        question_field: str = "question",
        answers_field: str = "answers",
        unanswerable_text: str = "unanswerable",
        prompt_template: str = DEFAULT_TEMPLATE,
        system_prompt: str | None = None,
        val_fraction: float = 0.2,
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, val_fraction=val_fraction, **kwargs)
        for placeholder in ("{context}", "{question}"):
            if placeholder not in prompt_template:
                raise DataError(f"data.prompt_template must contain {placeholder}.")
        if not unanswerable_text.strip():
            raise DataError("data.unanswerable_text must not be empty.")
        self.context_field = context_field
        self.question_field = question_field
        self.answers_field = answers_field
        self.unanswerable_text = unanswerable_text
        self.prompt_template = prompt_template
        self.system_prompt = system_prompt
        self.required_fields = (context_field, question_field, answers_field)
        self.predict_fields = (context_field, question_field)

    def settings(self) -> dict[str, Any]:
        return {"max_length": self.max_length, "fields": (self.context_field, self.question_field, self.answers_field),
                "unanswerable_text": self.unanswerable_text, "prompt_template": self.prompt_template,
                "system_prompt": self.system_prompt}

    def check_rows(self, split: str, dataset: Any) -> None:
        for index, answers in enumerate(dataset[self.answers_field]):
            if not isinstance(answers, dict) or not isinstance(answers.get("text"), list):
                raise DataError(f"{self.locate(dataset, index)}: field {self.answers_field!r} must be "
                                f"{{'text': [...], 'answer_start': [...]}}, got {answers!r}.")

    def user_message(self, row: dict[str, Any]) -> str:
        return self.prompt_template.format(context=row[self.context_field], question=row[self.question_field],
                                           unanswerable=self.unanswerable_text)

    def tokenize_row(self, row: dict[str, Any]) -> dict[str, Any]:
        message = self.user_message(row)
        answers = [a for a in row[self.answers_field]["text"] if a and a.strip()]
        target = answers[0] if answers else self.unanswerable_text
        return prompt_answer_tokens(self.tokenizer, message, target, self.system_prompt, self.max_length)

    def tokenize_prompt(self, row: dict[str, Any]) -> dict[str, list[int]]:
        return {"input_ids": prompt_tokens(self.tokenizer, self.user_message(row), self.system_prompt)}

    def predict_record(self, idx: int) -> dict[str, Any]:
        row = self.predict_rows[idx]
        return {"id": str(row.get("id", idx)), "question": row[self.question_field]}

    def collate(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """The training view (prompt + answer, right-padded) and the prompt alone, left-padded for generation."""
        batch = super().collate(rows)
        prompts = [r["input_ids"][: r["prompt_length"]] for r in rows]
        batch["prompt_input_ids"] = pad_sequences(prompts, self.tokenizer.pad_token_id, side="left")
        batch["prompt_attention_mask"] = pad_sequences([[1] * len(p) for p in prompts], 0, side="left")
        return batch

    def gold_answers(self, split: str, idx: int) -> list[str]:
        """The gold answers of a row (empty for an unanswerable question)."""
        return [a for a in self.raw_splits[split][idx][self.answers_field]["text"] if a and a.strip()]

    def question_of(self, split: str, idx: int) -> dict[str, str]:
        row = self.raw_splits[split][idx]
        return {"id": str(row.get("id", idx)), "question": row[self.question_field]}

"""Code SFT data (CodeGen-Deep/Diverse schema: ``input``, ``solution``, ``output``, ``split``)."""

from __future__ import annotations

from typing import Any

from lightning_lora.data.base import BaseDataModule, prompt_answer_tokens, prompt_tokens
from lightning_lora.data.sources import DataError

MODES = ("solution", "prompt_solution")


class CodeSFTDataModule(BaseDataModule):
    """Supervised fine-tuning on code.

    Args:
        mode: ``solution`` trains on the solution text alone (the seed study's setting);
            ``prompt_solution`` renders prompt and solution through the chat template and masks
            the prompt out of the loss.
        prompt_field: column with the problem statement.
        solution_field: column with the target text (``solution`` for code only, ``output`` for
            reasoning + code).
        system_prompt: system message for ``prompt_solution`` (also used by the benchmark).
        **kwargs: see :class:`~lightning_lora.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        path: str = "Naholav/CodeGen-Deep-5K",
        mode: str = "solution",
        prompt_field: str = "input",
        solution_field: str = "solution",
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, **kwargs)
        if mode not in MODES:
            raise DataError(f"data.mode must be one of {', '.join(MODES)}, got {mode!r}.")
        self.mode = mode
        self.prompt_field = prompt_field
        self.solution_field = solution_field
        self.system_prompt = system_prompt
        self.required_fields = (solution_field,) if mode == "solution" else (prompt_field, solution_field)
        self.predict_fields = (prompt_field,)

    def settings(self) -> dict[str, Any]:
        return {"max_length": self.max_length, "mode": self.mode, "prompt_field": self.prompt_field,
                "solution_field": self.solution_field, "system_prompt": self.system_prompt}

    def check_rows(self, split: str, dataset: Any) -> None:
        fields = (self.solution_field,) if self.mode == "solution" else (self.prompt_field, self.solution_field)
        for field in fields:
            for index, value in enumerate(dataset[field]):
                if not isinstance(value, str) or not value.strip():
                    what = "empty" if isinstance(value, str) else f"{type(value).__name__}" if value is not None else "null"
                    raise DataError(f"{self.locate(dataset, index)}: field {field!r} is {what}; "
                                    "every row needs text there.")

    def tokenize_row(self, row: dict[str, Any]) -> dict[str, list[int]]:
        tok = self.tokenizer
        solution = row[self.solution_field]
        if self.mode == "solution":
            ids = tok(solution, add_special_tokens=True)["input_ids"]
            if tok.eos_token_id is not None:
                ids = ids + [tok.eos_token_id]
            ids = ids[: self.max_length]
            return {"input_ids": ids, "labels": list(ids)}
        tokens = prompt_answer_tokens(tok, row[self.prompt_field], solution, self.system_prompt, self.max_length)
        return {"input_ids": tokens["input_ids"], "labels": tokens["labels"]}

    def tokenize_prompt(self, row: dict[str, Any]) -> dict[str, list[int]]:
        """The chat-template prompt training used (``prompt_solution``), or the bare statement (``solution``)."""
        if self.mode == "solution":
            return {"input_ids": self.tokenizer(row[self.prompt_field], add_special_tokens=True)["input_ids"]}
        return {"input_ids": prompt_tokens(self.tokenizer, row[self.prompt_field], self.system_prompt)}

    def predict_record(self, idx: int) -> dict[str, Any]:
        """The row's id and prompt, and its stdin/stdout ``tests`` when it has them (the program is then run on them)."""
        record = super().predict_record(idx)
        tests = self.predict_rows[idx].get("tests")
        if tests:
            record["tests"] = [{"input": str(t["input"]), "output": str(t["output"])} for t in tests]
        return record

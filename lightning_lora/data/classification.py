"""Text classification data (SST-2 ``sentence``/``label``, AG News ``text``/``label``, or any text + label)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import torch

from lightning_lora.data.base import BaseDataModule
from lightning_lora.data.collate import pad_sequences
from lightning_lora.data.sources import DataError, user_fields


class TextClassificationDataModule(BaseDataModule):
    """Sequence classification: one text, one integer label in ``[0, num_labels)``.

    Args:
        text_field: column with the text.
        label_field: column with the integer label.
        label_names: class names in label order; default: the dataset's ClassLabel names, else
            ``"0", "1", ...`` up to the largest label seen.
        val_fraction: held-out share when the dataset has no validation split (the seed studies used 20 %).
        **kwargs: see :class:`~lightning_lora.data.base.BaseDataModule`.
    """

    def __init__(
        self,
        path: str = "stanfordnlp/sst2",
        text_field: str = "sentence",
        label_field: str = "label",
        label_names: list[str] | None = None,
        val_fraction: float = 0.2,
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, val_fraction=val_fraction, **kwargs)
        self.text_field = text_field
        self.label_field = label_field
        self._label_names = list(label_names) if label_names else None
        self.required_fields = (text_field, label_field)
        self.predict_fields = (text_field,)

    @cached_property
    def label_names(self) -> list[str]:
        """Class names in label order (from the config, the dataset's ClassLabel feature, or the labels seen)."""
        if self._label_names:
            return self._label_names
        train = self.load_splits()["train"]
        if self.label_field not in train.column_names:
            raise DataError(f"{self.path} (train split) has no field {self.label_field!r}; its fields are "
                            f"{', '.join(user_fields(train))}.")
        feature = train.features[self.label_field]
        if getattr(feature, "names", None):
            return list(feature.names)
        values = train[self.label_field]
        labels = [v for v in values if v is not None]
        if not labels:
            raise DataError(f"{self.path}: field {self.label_field!r} has no labels.")
        bad = next((i for i, v in enumerate(values) if v is not None and not is_class_index(v)), None)
        if bad is not None:
            raise DataError(f"{self.locate(train, bad)}: field {self.label_field!r} must hold integers (class indices); "
                            f"found {values[bad]!r}. Map names to indices and give data.label_names.")
        return [str(i) for i in range(int(max(labels)) + 1)]

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def settings(self) -> dict[str, Any]:
        return {"max_length": self.max_length, "text_field": self.text_field, "label_field": self.label_field}

    def check_rows(self, split: str, dataset: Any) -> None:
        for index, (text, label) in enumerate(zip(dataset[self.text_field], dataset[self.label_field])):
            if not is_class_index(label) or not 0 <= label < self.num_labels:
                raise DataError(
                    f"{self.locate(dataset, index)}: label {label!r} in field {self.label_field!r} is not "
                    f"a class index in [0, {self.num_labels}) ({', '.join(self.label_names)})."
                )
            if not isinstance(text, str):
                raise DataError(f"{self.locate(dataset, index)}: field {self.text_field!r} is "
                                f"{type(text).__name__}, not text.")

    def tokenize_row(self, row: dict[str, Any]) -> dict[str, Any]:
        ids = self.tokenizer(row[self.text_field], truncation=True, max_length=self.max_length)["input_ids"]
        return {"input_ids": ids, "labels": int(row[self.label_field])}

    def has_target(self, row: dict[str, Any]) -> bool:
        return len(row["input_ids"]) > 0

    def collate(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return {
            "input_ids": pad_sequences([r["input_ids"] for r in rows], self.tokenizer.pad_token_id),
            "attention_mask": pad_sequences([[1] * len(r["input_ids"]) for r in rows], 0),
            "labels": torch.tensor([r["labels"] for r in rows], dtype=torch.long),
            "idx": torch.tensor([r["idx"] for r in rows], dtype=torch.long),
        }

    def tokenize_prompt(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"input_ids": self.tokenizer(row[self.text_field], truncation=True, max_length=self.max_length)["input_ids"]}

    def predict_collate(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return {"input_ids": pad_sequences([r["input_ids"] for r in rows], self.tokenizer.pad_token_id),
                "attention_mask": pad_sequences([[1] * len(r["input_ids"]) for r in rows], 0),
                "idx": torch.tensor([r["idx"] for r in rows], dtype=torch.long)}

    def text_of(self, split: str, idx: int) -> str:
        """The original text of a row, for predictions files."""
        return self.raw_splits[split][idx][self.text_field]


def is_class_index(value: Any) -> bool:
    """An integer label; a whole float counts (one fractional label in a file makes its whole column float)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())

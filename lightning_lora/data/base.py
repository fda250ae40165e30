"""Shared data pipeline: load a source, check its schema, split, tokenize once (cached), collate.

Subclasses say which fields they need and how one row becomes token ids; everything else lives here.
Data modules know nothing about models beyond the tokenizer.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Callable

import lightning as L
import pyarrow.compute as pc
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch.utils.data import DataLoader

from lightning_lora.data.collate import IGNORE_INDEX, pack_batch, pad_batch, pad_sequences
from lightning_lora.data.sampling import TrainingBatchSampler
from lightning_lora.data.sources import (
    SOURCE_ROW,
    DataError,
    check_max_samples,
    load_rows,
    load_source,
    looks_like_missing_file,
    source_location,
    user_fields,
)
from lightning_lora.inference.prompting import build_completion, build_prompt, has_chat_template
from lightning_lora.lightning_internals import batches_done
from lightning_lora.models.loading import load_tokenizer


class BaseDataModule(L.LightningDataModule):
    """Loads, validates, splits and tokenizes a dataset; batches are padded to the longest sample.

    Validation and test loaders are not sharded: every process evaluates the whole split, so
    metrics count each example once, whatever the number of processes.

    Args:
        path: hub dataset id, local .jsonl/.json/.csv/.parquet file or dataset directory, or
            ``synthetic:<name>`` for the generated offline data.
        tokenizer_name_or_path: tokenizer to use; linked from ``model.model_name_or_path``.
        config_name: dataset configuration name on the hub (``load_dataset(path, config_name)``).
        split_field: column holding train/valid/test; used when present, else a seeded split.
        val_fraction: share of the training rows held out for validation when no split exists.
        seed: seed for the split and the shuffling.
        max_length: samples are truncated to this many tokens.
        batch_size: training batch size per device.
        eval_batch_size: validation/test batch size (defaults to ``batch_size``).
        num_workers: dataloader worker processes.
        max_samples: keep at most this many rows per split (quick experiments).
        use_splits: the dataset's own splits to use (e.g. ``[train]`` to ignore a test split whose
            labels are hidden, and hold out ``val_fraction`` of train instead); default all.
        shuffle: shuffle the training rows each epoch (seeded); off, batches follow the file's order.
            Either way the order is :class:`~lightning_lora.data.sampling.TrainingBatchSampler`'s:
            sharded across processes like one big batch, and resumed mid-epoch from a checkpoint.
        group_by_length: training batches of similar length (shuffled mega-batches sorted by length,
            seeded), so padding to the longest costs little; validation and test are unchanged.
        pack: training batches pack their samples into as few rows as fit the longest, with
            positions restarting and attention kept within each sample (same loss, less padding;
            causal LM data only). Validation and test are unchanged.
        predict_path: a file of rows to predict (same kinds of file as ``path``; labels or answers not
            needed): ``predict`` writes ``predictions.jsonl`` for it in its run folder.
    """

    #: Fields every row must have; subclasses override.
    required_fields: tuple[str, ...] = ()
    #: Processes for tokenizing (``datasets.map``); None tokenizes in this process.
    num_proc: int | None = None
    #: Fields every row of ``predict_path`` must have; subclasses override.
    predict_fields: tuple[str, ...] = ()

    def __init__(
        self,
        path: str,
        tokenizer_name_or_path: str = "",
        config_name: str | None = None,
        split_field: str = "split",
        val_fraction: float = 0.1,
        seed: int = 42,
        max_length: int = 1024,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        max_samples: int | None = None,
        use_splits: list[str] | None = None,
        shuffle: bool = True,
        group_by_length: bool = False,
        pack: bool = False,
        predict_path: str | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 < val_fraction < 1.0:
            raise DataError(f"data.val_fraction must be between 0 and 1, got {val_fraction}.")
        if max_length < 2:
            raise DataError(f"data.max_length must be at least 2, got {max_length}.")
        if looks_like_missing_file(path):  # fail at start-up, before a model is loaded
            raise DataError(f"Data file {path} (data.path) does not exist.")
        if batch_size < 1:
            raise DataError(f"data.batch_size must be positive, got {batch_size}.")
        check_max_samples(max_samples)
        if predict_path is not None and looks_like_missing_file(predict_path):
            raise DataError(f"Data file {predict_path} (data.predict_path) does not exist.")
        self.predict_path = predict_path
        self.predict_rows: Any = None
        self.path = path
        self.tokenizer_name_or_path = tokenizer_name_or_path
        self.config_name = config_name
        self.split_field = split_field
        self.val_fraction = val_fraction
        self.seed = seed
        self.max_length = max_length
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.max_samples = max_samples
        self.use_splits = list(use_splits) if use_splits is not None else None
        self.shuffle = shuffle
        if pack and type(self).collate is not BaseDataModule.collate:
            raise DataError(f"data.pack is not supported by {type(self).__name__}, which builds its own batches; "
                            f"use data.group_by_length instead.")
        self.group_by_length = group_by_length
        self.pack = pack
        self._tokenizer = None
        self.splits: dict[str, Any] = {}
        self.raw_splits: dict[str, Any] = {}
        self.dropped: dict[str, int] = {}

    # -- hooks for subclasses -------------------------------------------------------------------
    def tokenize_row(self, row: dict[str, Any]) -> dict[str, list[int]]:
        """Turn one row into ``input_ids`` and ``labels`` (-100 where no loss is taken)."""
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """Everything besides the source and tokenizer that changes the tokenized data (cache key)."""
        return {"max_length": self.max_length}

    def check_rows(self, split: str, dataset: Any) -> None:
        """Validate values beyond field presence (labels in range, ...); raise :class:`DataError`."""

    def locate(self, dataset: Any, index: int) -> str:
        """Where row ``index`` of a loaded split is in the user's data (``data.jsonl, line 33``), for errors."""
        record = dataset[index][SOURCE_ROW] if SOURCE_ROW in dataset.column_names else index
        return source_location(self.path, record)

    def has_target(self, row: dict[str, Any]) -> bool:
        """Whether a tokenized row still carries something to learn from (samples without are dropped).

        The first token is never predicted (nothing precedes it), so a label there does not count.
        """
        return any(label != IGNORE_INDEX for label in row["labels"][1:])

    # -- pipeline -------------------------------------------------------------------------------
    @property
    def tokenizer(self):
        if self._tokenizer is None:
            if not self.tokenizer_name_or_path:
                raise DataError("data.tokenizer_name_or_path is empty; it is normally linked from model.model_name_or_path.")
            self._tokenizer = load_tokenizer(self.tokenizer_name_or_path)
        return self._tokenizer

    def connect(self, tokenizer: Any) -> None:
        """Use ``tokenizer``, already loaded from ``tokenizer_name_or_path`` (the training CLI loads it once for
        this data module and the task module), instead of loading it again on first use. Call it before the
        data is tokenized: splits tokenized by another tokenizer would not match it."""
        if self.splits and tokenizer is not self._tokenizer:
            raise RuntimeError(f"{type(self).__name__}.connect: the data is already tokenized with another tokenizer.")
        self._tokenizer = tokenizer

    def prepare_data(self) -> None:
        if self.trainer is not None and self.trainer.state.fn == "predict":
            return  # predict reads data.predict_path alone (setup)
        # Rank zero tokenizes first so the other ranks find the cache.
        if not self.splits:
            self._build()

    def adopt_built(self, other: BaseDataModule) -> None:
        """Take over what ``other``, built from the same config by the early data check, has read, checked
        and tokenized (splits, tokenizer, counts, a chat shape), instead of doing it all again."""
        self.__dict__.update({k: v for k, v in vars(other).items() if k != "trainer"})

    def tokenize_prompt(self, row: dict[str, Any]) -> dict[str, list[int]]:
        """What the model reads of a row to predict (``input_ids``); subclasses override."""
        raise DataError(f"predict is not available for {type(self).__name__} yet; data.predict_path works with the "
                        "code, QA and classification data modules.")

    def setup(self, stage: str | None = None) -> None:
        if stage == "predict":  # only the rows to predict: no training data needed
            self._build_predict()
        elif not self.splits:
            self._build()

    def _build_predict(self) -> None:
        if self.predict_path is None:
            raise DataError("predict needs data.predict_path: a .jsonl/.json/.csv/.parquet file of rows to predict.")
        self.predict_rows = load_rows(self.predict_path, "data.predict_path")
        missing = [f for f in self.predict_fields if f not in self.predict_rows.column_names]
        if missing:
            raise DataError(f"{self.predict_path} (data.predict_path) has no field {', '.join(repr(m) for m in missing)}; "
                            f"its fields are {', '.join(self.predict_rows.column_names)}.")
        self.predict_set = [{**self.tokenize_prompt(row), "idx": i} for i, row in enumerate(self.predict_rows)]

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(self.predict_set, batch_size=self.eval_batch_size, shuffle=False,
                          collate_fn=self.predict_collate, num_workers=self.num_workers)

    def predict_collate(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Prompts left-padded for generation (``prompt_input_ids``, ``prompt_attention_mask``) and row indices."""
        prompts = [r["input_ids"] for r in rows]
        return {"prompt_input_ids": pad_sequences(prompts, self.tokenizer.pad_token_id, side="left"),
                "prompt_attention_mask": pad_sequences([[1] * len(p) for p in prompts], 0, side="left"),
                "idx": torch.tensor([r["idx"] for r in rows], dtype=torch.long)}

    def predict_record(self, idx: int) -> dict[str, Any]:
        """The fields of a predicted row that ``predictions.jsonl`` repeats beside the prediction."""
        row = self.predict_rows[idx]
        return {k: row[k] for k in ("id", "task_id", *self.predict_fields) if k in row}

    def _build(self) -> None:
        raw = self.load_splits()
        for split, dataset in raw.items():
            missing = [f for f in self.required_fields if f not in dataset.column_names]
            if missing:
                raise DataError(
                    f"{self.path} ({split} split) has no field {', '.join(repr(m) for m in missing)}; "
                    f"its fields are {', '.join(user_fields(dataset))}."
                )
            if len(dataset) == 0:
                raise DataError(f"{self.path} has no rows in its {split} split.")
            if self.max_samples is not None:
                dataset = dataset.select(range(min(self.max_samples, len(dataset))))
            self.check_rows(split, dataset)
            self.raw_splits[split] = dataset
            self.splits[split] = self._tokenize(split, dataset)

    def load_splits(self) -> dict[str, Any]:
        """The raw splits of the source (train, validation and, when present, test)."""
        return load_source(self.path, self.config_name, self.split_field, self.val_fraction, self.seed, self.use_splits)

    def _cache_key(self, dataset: Any) -> str:
        tok = self.tokenizer
        parts = [getattr(dataset, "_fingerprint", ""), type(self).__name__, repr(sorted(self.settings().items())),
                 tok.name_or_path, str(len(tok)), str(getattr(tok, "chat_template", "")), str(tok.eos_token)]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    def _tokenize(self, split: str, dataset: Any) -> Any:
        # "idx" points back to the raw row (predictions files report the original text).
        tokenized = dataset.map(
            lambda row, idx: {**self.tokenize_row(row), "idx": idx}, with_indices=True,
            remove_columns=dataset.column_names, new_fingerprint=self._cache_key(dataset), desc=f"Tokenizing {split}",
            num_proc=self.num_proc,
        )
        before = len(tokenized)
        kept = tokenized.filter(self.has_target, new_fingerprint=self._cache_key(dataset) + "-kept-v2",
                                desc=f"Dropping empty {split} samples", num_proc=self.num_proc)
        self.dropped[split] = before - len(kept)
        if self.dropped[split]:
            print(f"[lightning_lora] {split}: dropped {self.dropped[split]} of {before} samples with no target "
                  f"tokens left after truncation to data.max_length={self.max_length}.")
        if len(kept) == 0:
            raise DataError(
                f"Every {split} sample of {self.path} lost all its target tokens to truncation at "
                f"data.max_length={self.max_length}; raise data.max_length."
            )
        return kept.with_format("python")

    def longest_sample(self) -> int:
        """Tokens in the longest tokenized sample of any split (0 before the data is built)."""
        lengths = [pc.max(pc.list_value_length(split.with_format("arrow")["input_ids"])).as_py() or 0
                   for split in self.splits.values()]
        return max(lengths, default=0)

    # -- loaders --------------------------------------------------------------------------------
    def collate(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Pad to the longest row of the batch (never to max_length); pad labels are -100."""
        return pad_batch(rows, self.tokenizer.pad_token_id)

    def eval_split(self, stage: str) -> str:
        """The split a ``validate`` or ``test`` run reads."""
        if stage == "test" and "test" in self.splits:
            return "test"
        return "validation"

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        if split not in self.splits:
            raise DataError(f"{self.path} has no {split} split (found: {', '.join(self.splits)}).")
        dataset, collate = self.splits[split], self.collate
        # A loader with its own generator seeds its workers without drawing from the global RNG, so
        # creating a loader (every validation) never shifts the random stream training depends on.
        generator = torch.Generator().manual_seed(self.seed)
        if not shuffle:  # validation / test: every process evaluates the whole split (exact metrics)
            return DataLoader(dataset, batch_size=self.eval_batch_size, shuffle=False, collate_fn=collate,
                              num_workers=self.num_workers, persistent_workers=self.num_workers > 0, generator=generator)
        sampler = self.training_sampler()
        if self.pack:
            collate = functools.partial(pack_batch, pad_id=self.tokenizer.pad_token_id)
        return ResumableDataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=self.num_workers,
                                   persistent_workers=self.num_workers > 0, generator=generator,
                                   position=self._train_position, restore=functools.partial(self._restore, sampler))

    def training_sampler(self) -> TrainingBatchSampler:
        """The training batch order for this process."""
        dataset = self.splits["train"]
        lengths = None
        if self.group_by_length:
            lengths = pc.list_value_length(dataset.with_format("arrow")["input_ids"]).to_pylist()
        rank, world_size = self._rank_and_world()
        return TrainingBatchSampler(len(dataset), self.batch_size, shuffle=self.shuffle, seed=self.seed,
                                    lengths=lengths, rank=rank, world_size=world_size)

    def _rank_and_world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _layout(self) -> dict[str, Any]:
        """What the batch order depends on besides the epoch (a resumed run must match it)."""
        return {"num_samples": len(self.splits["train"]), "batch_size": self.batch_size,
                "world_size": self._rank_and_world()[1], "seed": self.seed, "shuffle": self.shuffle,
                "group_by_length": self.group_by_length}

    # -- resume ---------------------------------------------------------------------------------
    def _train_position(self) -> dict[str, Any]:
        """Where training stands in the data: the epoch and how many of its batches are trained on."""
        trainer = self.trainer
        if trainer is None or trainer.state.fn != "fit":
            return {}
        done = batches_done(trainer)
        return {"epoch": trainer.current_epoch, "batches_done": done, **self._layout()}

    def _restore(self, sampler: TrainingBatchSampler, position: dict[str, Any]) -> None:
        """Make ``sampler`` skip what the checkpoint had trained on (an end-of-epoch position skips nothing)."""
        if not position:
            return
        layout = self._layout()
        saved = {k: position.get(k) for k in layout}
        if saved != layout:
            rank_zero_warn(f"The checkpoint's training data order does not apply to this run ({saved} in the checkpoint, "
                           f"{layout} now): the interrupted epoch starts over instead of resuming mid-epoch.")
        elif position["batches_done"] < len(sampler):
            sampler.start_at(position["epoch"], position["batches_done"])
        else:  # saved at the end of an epoch: the next one starts (set now, as start_at does)
            sampler.set_epoch(position["epoch"] + 1)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("validation", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.eval_split("test"), shuffle=False)


class ResumableDataLoader(DataLoader):
    """The training loader: Lightning's fit loop saves its position in every checkpoint and hands it
    back before iterating again, so a resumed run continues mid-epoch with the next unseen batch.

    Args:
        position: returns the position to save (called when a checkpoint is written).
        restore: receives a saved position.
    """

    def __init__(self, *args: Any, position: Callable[[], dict[str, Any]],
                 restore: Callable[[dict[str, Any]], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._position = position
        self._restore = restore

    def state_dict(self) -> dict[str, Any]:
        return self._position()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restore(state_dict)


def prompt_answer_tokens(tokenizer: Any, message: str, answer: str, system_prompt: str | None,
                         max_length: int) -> dict[str, Any]:
    """A prompt + answer conversation as ``input_ids`` and ``labels`` with the prompt masked (-100), both cut
    to ``max_length``, plus ``prompt_length``; rendered through the chat template when the tokenizer has one."""
    prompt_ids = prompt_tokens(tokenizer, message, system_prompt)
    answer_ids = tokenizer(build_completion(tokenizer, message, answer, system_prompt),
                           add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:max_length]
    return {"input_ids": ids, "labels": labels, "prompt_length": len(prompt_ids)}


def prompt_tokens(tokenizer: Any, message: str, system_prompt: str | None) -> list[int]:
    """The prompt part of :func:`prompt_answer_tokens` alone: what the model reads before answering ``message``."""
    return tokenizer(build_prompt(tokenizer, message, system_prompt),
                     add_special_tokens=not has_chat_template(tokenizer))["input_ids"]

"""Code SFT data: masking, splits, padding, truncation and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.data.code import CodeSFTDataModule
from lightning_lora.data.collate import IGNORE_INDEX
from lightning_lora.data.sources import DataError


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


ROWS = [{"input": f"Print the number {i}.", "solution": f"print({i})\n", "output": "x"} for i in range(20)]


def _dm(tiny_qwen2: Path, path: Path | str, **kwargs) -> CodeSFTDataModule:
    dm = CodeSFTDataModule(path=str(path), tokenizer_name_or_path=str(tiny_qwen2), **kwargs)
    dm.setup("fit")
    return dm


def test_prompt_tokens_are_masked_and_solution_tokens_are_not(tiny_qwen2, tokenizer, tmp_path):
    dm = _dm(tiny_qwen2, _write(tmp_path / "d.jsonl", ROWS), mode="prompt_solution", system_prompt="Be brief.")
    row = dm.splits["train"][0]
    raw = dm.raw_splits["train"][0]
    labels, ids = row["labels"], row["input_ids"]
    n_prompt = sum(1 for label in labels if label == IGNORE_INDEX)
    prompt_text = tokenizer.decode(ids[:n_prompt])
    target_text = tokenizer.decode(labels[n_prompt:])
    assert raw["input"] in prompt_text and "Be brief." in prompt_text
    assert raw["solution"] not in prompt_text
    assert target_text.startswith(raw["solution"]) and target_text.endswith("<|im_end|>\n")
    assert labels[n_prompt:] == ids[n_prompt:]
    assert all(label == IGNORE_INDEX for label in labels[:n_prompt])


def test_solution_mode_trains_on_every_token_and_ends_with_eos(tiny_qwen2, tokenizer, tmp_path):
    dm = _dm(tiny_qwen2, _write(tmp_path / "d.jsonl", ROWS), mode="solution")
    row = dm.splits["train"][0]
    assert row["labels"] == row["input_ids"]
    assert row["input_ids"][-1] == tokenizer.eos_token_id
    assert tokenizer.decode(row["input_ids"][:-1]) == dm.raw_splits["train"][0]["solution"]


def test_split_column_is_used_when_present(tiny_qwen2, tmp_path):
    rows = [dict(r, split="train" if i < 14 else ("valid" if i < 17 else "test")) for i, r in enumerate(ROWS)]
    dm = _dm(tiny_qwen2, _write(tmp_path / "d.jsonl", rows))
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 14, "validation": 3, "test": 3}


def test_seeded_split_without_split_column_is_reproducible(tiny_qwen2, tmp_path):
    path = _write(tmp_path / "d.jsonl", ROWS)
    a = _dm(tiny_qwen2, path, val_fraction=0.25, seed=3)
    b = _dm(tiny_qwen2, path, val_fraction=0.25, seed=3)
    assert len(a.splits["validation"]) == 5 and len(a.splits["train"]) == 15
    assert a.raw_splits["validation"]["input"] == b.raw_splits["validation"]["input"]


def test_csv_and_parquet_sources(tiny_qwen2, tmp_path):
    import datasets

    ds = datasets.Dataset.from_list(ROWS)
    ds.to_csv(str(tmp_path / "d.csv"))
    ds.to_parquet(str(tmp_path / "d.parquet"))
    for name in ("d.csv", "d.parquet"):
        dm = _dm(tiny_qwen2, tmp_path / name)
        assert len(dm.splits["train"]) + len(dm.splits["validation"]) == len(ROWS)


def test_collate_pads_to_longest_in_batch_not_max_length(tiny_qwen2, tokenizer, tmp_path):
    dm = _dm(tiny_qwen2, _write(tmp_path / "d.jsonl", ROWS), mode="prompt_solution", max_length=512)
    rows = [dm.splits["train"][i] for i in range(4)]
    batch = dm.collate(rows)
    longest = max(len(r["input_ids"]) for r in rows)
    assert batch["input_ids"].shape == (4, longest) < (4, 512)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        assert batch["attention_mask"][i].sum() == n
        assert (batch["labels"][i, n:] == IGNORE_INDEX).all()
        assert (batch["input_ids"][i, n:] == tokenizer.pad_token_id).all()


def test_samples_truncated_to_no_target_are_dropped_and_counted(tiny_qwen2, tokenizer, tmp_path, capsys):
    long_prompt = "word " * 60
    rows = [dict(r, input=long_prompt if i % 2 else r["input"]) for i, r in enumerate(ROWS)]
    rows = [dict(r, split="train") for r in rows] + [dict(ROWS[0], split="valid")]
    dm = _dm(tiny_qwen2, _write(tmp_path / "d.jsonl", rows), mode="prompt_solution", max_length=40)
    assert dm.dropped["train"] == 10 and len(dm.splits["train"]) == 10
    assert all(any(label != IGNORE_INDEX for label in r["labels"]) for r in dm.splits["train"])
    assert "dropped 10 of 20" in capsys.readouterr().out


def test_every_sample_truncated_is_an_error_naming_max_length(tiny_qwen2, tmp_path):
    rows = [dict(r, input="word " * 60) for r in ROWS]
    with pytest.raises(DataError, match="data.max_length=20"):
        _dm(tiny_qwen2, _write(tmp_path / "d.jsonl", rows), mode="prompt_solution", max_length=20)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p / "missing.jsonl", r"missing\.jsonl.*does not exist"),
        (lambda p: _write(p / "empty.jsonl", []), r"empty\.jsonl.*is empty"),
        (lambda p: _write(p / "nofield.jsonl", [{"input": "a", "answer": "b"}] * 4), r"no field 'solution'.*input, answer"),
        (lambda p: _write(p / "badsplit.jsonl", [dict(r, split="holdout") for r in ROWS]), r"'split' has values holdout"),
        (lambda p: (p / "d.txt").write_text("hello") and p / "d.txt", r"suffix '\.txt'"),
        (lambda p: _write(p / "null.jsonl", [dict(r, solution=None) for r in ROWS]),
         r"null\.jsonl, line \d+: field 'solution' is null"),
        (lambda p: _write(p / "int.jsonl", [dict(r, solution=7) for r in ROWS]),
         r"int\.jsonl, line \d+: field 'solution' is int"),
    ],
    ids=["missing-file", "empty-file", "missing-field", "unknown-split-value", "unknown-suffix", "null-value", "int-value"],
)
def test_bad_data_is_one_clear_error(tiny_qwen2, tmp_path, make, match):
    with pytest.raises(DataError, match=match):
        _dm(tiny_qwen2, make(tmp_path))


def test_unknown_mode_is_refused():
    with pytest.raises(DataError, match="data.mode"):
        CodeSFTDataModule(path="synthetic:code", mode="everything")


def test_synthetic_source_generates_the_deep_schema(tiny_qwen2):
    dm = _dm(tiny_qwen2, "synthetic:code", mode="prompt_solution")
    assert set(dm.raw_splits) == {"train", "validation", "test"}
    assert {"input", "solution", "output", "split"} <= set(dm.raw_splits["train"].column_names)


def test_use_splits_keeps_only_the_named_splits_and_holds_out_validation(tiny_qwen2, tmp_path):
    import datasets

    folder = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS), "test": datasets.Dataset.from_list(ROWS[:3])}
                         ).save_to_disk(str(folder))
    dm = _dm(tiny_qwen2, folder, use_splits=["train"], val_fraction=0.2)
    assert set(dm.splits) == {"train", "validation"} and len(dm.splits["validation"]) == 4
    with pytest.raises(DataError, match="data.use_splits names dev, but .* has the splits train, test"):
        _dm(tiny_qwen2, folder, use_splits=["train", "dev"])


def test_shuffle_off_keeps_the_file_order_and_on_is_seeded(tiny_qwen2, tmp_path):
    path = _write(tmp_path / "d.jsonl", [dict(r, split="train") for r in ROWS] + [dict(ROWS[0], split="valid")])
    ordered = _dm(tiny_qwen2, path, shuffle=False, batch_size=4)
    assert next(iter(ordered.train_dataloader()))["idx"].tolist() == [0, 1, 2, 3]
    first, second = (next(iter(_dm(tiny_qwen2, path, seed=5, batch_size=4).train_dataloader()))["idx"].tolist() for _ in range(2))
    assert first == second != [0, 1, 2, 3]

"""Question answering data and evaluation: masking, prompts for generation, SQuAD v2 files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.data.collate import IGNORE_INDEX
from lightning_lora.data.qa import QADataModule
from lightning_lora.data.sources import DataError

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--config", str(REPO / "configs" / "quickstart-qa.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false"]

ROWS = [
    {"id": "a", "context": "Kalo is a country. Its capital is Vomi.", "question": "What is the capital of Kalo?",
     "answers": {"text": ["Vomi"], "answer_start": [34]}},
    {"id": "b", "context": "Zuren is a country. It is led by Pel.", "question": "Which river flows through Zuren?",
     "answers": {"text": [], "answer_start": []}},
] * 5


def _dm(tiny_qwen2: Path, path: Path, **kwargs) -> QADataModule:
    dm = QADataModule(path=str(path), tokenizer_name_or_path=str(tiny_qwen2), split_field="none", **kwargs)
    dm.setup("fit")
    return dm


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_targets_are_the_first_answer_or_the_unanswerable_text_and_prompts_are_masked(tmp_path, tiny_qwen2, tokenizer):
    dm = _dm(tiny_qwen2, _write(tmp_path / "qa.jsonl", ROWS), unanswerable_text="no answer")
    for split in ("train", "validation"):
        for row in dm.splits[split]:
            raw = dm.raw_splits[split][row["idx"]]
            n = row["prompt_length"]
            prompt, target = tokenizer.decode(row["input_ids"][:n]), tokenizer.decode(row["labels"][n:])
            assert raw["context"] in prompt and raw["question"] in prompt
            assert all(label == IGNORE_INDEX for label in row["labels"][:n])
            expected = raw["answers"]["text"][0] if raw["answers"]["text"] else "no answer"
            assert target.startswith(expected) and expected not in prompt.split("Question:")[1]


def test_collate_gives_left_padded_prompts_for_generation(tmp_path, tiny_qwen2, tokenizer):
    rows = ROWS[:1] + [dict(ROWS[1], context="A much longer context. " * 4 + ROWS[1]["context"])]
    dm = _dm(tiny_qwen2, _write(tmp_path / "qa.jsonl", rows * 5))
    items = [dm.splits["train"][i] for i in range(len(dm.splits["train"]))]
    short = min(items, key=lambda r: r["prompt_length"])
    long = max(items, key=lambda r: r["prompt_length"])
    batch = dm.collate([short, long])
    pad = long["prompt_length"] - short["prompt_length"]
    assert pad > 0
    assert batch["prompt_input_ids"][0, :pad].eq(tokenizer.pad_token_id).all()
    assert batch["prompt_input_ids"][0, pad:].tolist() == short["input_ids"][: short["prompt_length"]]
    assert batch["prompt_attention_mask"][0].tolist() == [0] * pad + [1] * short["prompt_length"]


def test_malformed_answers_field_is_one_clear_error(tmp_path, tiny_qwen2):
    rows = [dict(r, answers="Vomi") for r in ROWS]
    with pytest.raises(DataError, match=r"qa\.jsonl, line \d+: field 'answers' must be \{'text'"):
        _dm(tiny_qwen2, _write(tmp_path / "qa.jsonl", rows))
    with pytest.raises(DataError, match="prompt_template must contain {question}"):
        QADataModule(path="synthetic:qa", prompt_template="{context}")


def test_validate_writes_squad_v2_metrics_and_predictions(in_tmp):
    assert main(["validate", *QUICK, "--model.method", "none", "--data.max_samples", "12",
                 "--model.max_new_tokens", "3"]) == 0
    run = in_tmp / "tb_logs" / "quickstart-qa" / "version_0"
    record = json.loads((run / "metrics.json").read_text())
    metrics = record["metrics"]
    assert record["split"] == "validation" and record["num_examples"] == 12 and record["method"] == "none"
    assert set(metrics["squad_v2"]) == {"exact", "f1", "total", "HasAns", "NoAns"}
    assert metrics["squad_v2"]["HasAns"]["total"] + metrics["squad_v2"]["NoAns"]["total"] == 12
    assert {"bleu1", "bleu4", "rougeL_f1", "meteor", "meteor_note", "val/loss"} <= set(metrics)
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and set(rows[0]) == {"id", "question", "answers", "prediction", "scored_as"}

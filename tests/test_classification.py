"""Text classification end to end: labels, linking, learning above chance, files, base vs tuned report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.data.classification import TextClassificationDataModule
from lightning_lora.data.sources import DataError
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--config", str(REPO / "configs" / "quickstart-classification.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false"]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


ROWS = [{"sentence": f"text number {i}", "label": i % 2} for i in range(20)]


def test_label_names_come_from_the_classlabel_feature(tmp_path, tiny_qwen2):
    import datasets

    features = datasets.Features({"sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["negative", "positive"])})
    datasets.Dataset.from_list(ROWS, features=features).to_parquet(str(tmp_path / "sst.parquet"))
    dm = TextClassificationDataModule(path=str(tmp_path / "sst.parquet"), tokenizer_name_or_path=str(tiny_qwen2))
    assert dm.label_names == ["negative", "positive"] and dm.num_labels == 2
    dm.setup("fit")
    assert len(dm.splits["validation"]) == 4  # the 80/20 default
    batch = dm.collate([dm.splits["train"][i] for i in range(3)])
    assert batch["labels"].tolist() == [dm.raw_splits["train"][i]["label"] for i in range(3)]


def test_out_of_range_and_non_integer_labels_name_the_row_and_field(tmp_path, tiny_qwen2):
    rows = ROWS[:10] + [{"sentence": "bad", "label": 7}]
    dm = TextClassificationDataModule(path=str(_jsonl(tmp_path / "d.jsonl", rows)), tokenizer_name_or_path=str(tiny_qwen2),
                                      label_names=["neg", "pos"], split_field="none")
    with pytest.raises(DataError, match=r"label 7 in field 'label' is not a class index in \[0, 2\) \(neg, pos\)"):
        dm.setup("fit")
    rows = ROWS[:10] + [{"sentence": "bad", "label": "positive"}]
    dm = TextClassificationDataModule(path=str(_jsonl(tmp_path / "e.jsonl", rows)), tokenizer_name_or_path=str(tiny_qwen2))
    with pytest.raises(DataError, match="must hold integers"):
        _ = dm.label_names


def test_missing_text_field_is_one_clear_error(in_tmp, capsys):
    _jsonl(in_tmp / "d.jsonl", ROWS)
    assert main(["fit", *QUICK, "--data.path", "d.jsonl", "--data.text_field", "text", "--data.label_names", "null",
                 "--trainer.max_steps", "1"]) == 2
    assert "d.jsonl (train split) has no field 'text'; its fields are sentence, label." in capsys.readouterr().err


def test_num_labels_is_linked_from_the_data(in_tmp):
    cli = build_cli([*QUICK, "--data.label_names", "null"], run=False)
    assert cli.model.num_labels == 4 and cli.model.label_names == ["0", "1", "2", "3"]
    assert cli.model.model.base_model.model.config.num_labels == 4


def test_accuracy_rises_above_chance_and_report_compares_base_with_tuned(in_tmp, capsys):
    build_cli(["fit", *QUICK, "--trainer.max_steps", "60", "--eval_every_n_steps", "60"])
    assert main(["validate", *QUICK, "--model.method", "none"]) == 0
    assert main(["validate", *QUICK, "--ckpt_path", "last"]) == 0
    runs = in_tmp / "tb_logs" / "quickstart-classification"
    base, tuned = (json.loads((runs / v / "metrics.json").read_text()) for v in ("version_1", "version_2"))
    assert base["method"] == "none" and tuned["checkpoint"].endswith("last.ckpt") and tuned["checkpoint_step"] == 60
    assert tuned["metrics"]["val/accuracy"] > 0.45 and base["metrics"]["val/accuracy"] < 0.35  # chance: 0.25
    assert len(tuned["metrics"]["confusion_matrix"]) == 4
    assert sum(map(sum, tuned["metrics"]["confusion_matrix"])) == tuned["num_examples"] == 160
    rows = [json.loads(line) for line in (runs / "version_2" / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 160 and set(rows[0]) == {"text", "label", "prediction", "probabilities"}
    assert set(rows[0]["probabilities"]) == {"World", "Sports", "Business", "Sci/Tech"}
    assert sum(rows[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    accuracy = sum(r["label"] == r["prediction"] for r in rows) / len(rows)
    assert accuracy == pytest.approx(tuned["metrics"]["val/accuracy"])
    capsys.readouterr()
    assert main(["report", "--base", str(runs / "version_1"), "--tuned", str(runs / "version_2")]) == 0
    table = capsys.readouterr().out
    line = next(row for row in table.splitlines() if row.startswith("| val/accuracy |"))
    b, t, d = (float(x) for x in line.strip("|").split("|")[1:])
    assert t - b == pytest.approx(d, abs=1e-3) and d > 0.2
    assert (runs / "version_2" / "report.md").read_text().strip() in table

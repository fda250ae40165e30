"""Reports: base vs fine-tuned table, and the comparison of training runs under several methods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.errors import UserError
from lightning_lora.reporting.base_vs_tuned import base_vs_tuned, flatten
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]


def _record(split: str = "validation", n: int = 10, **metrics) -> dict:
    return {"split": split, "num_examples": n, "method": "x", "checkpoint": None, "metrics": metrics}


def test_base_vs_tuned_table_has_deltas_and_flattens_nested_metrics():
    table = base_vs_tuned(_record(**{"val/accuracy": 0.25, "squad_v2": {"f1": 10.0, "HasAns": {"f1": 5.0}}, "note": "x"}),
                          _record(**{"val/accuracy": 0.75, "squad_v2": {"f1": 40.0, "HasAns": {"f1": 35.0}}}))
    assert "| val/accuracy | 0.2500 | 0.7500 | +0.5000 |" in table
    assert "| squad_v2/HasAns/f1 | 5.0000 | 35.0000 | +30.0000 |" in table
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": True}) == {"a/b": 1.0}


@pytest.mark.parametrize(("base", "match"), [(_record(split="test"), "different splits"),
                                             (_record(n=11), "different numbers of examples")])
def test_base_vs_tuned_refuses_runs_that_are_not_comparable(base, match):
    with pytest.raises(UserError, match=match):
        base_vs_tuned(dict(base, metrics={"val/loss": 1.0}), _record(**{"val/loss": 0.5}))


def test_report_runs_compares_methods_with_a_table_and_plots(in_tmp, capsys):
    quick = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false",
             "--trainer.enable_model_summary", "false", "--trainer.callbacks", "[]", "--trainer.max_steps", "6",
             "--eval_every_n_steps", "3", "--trainer.log_every_n_steps", "1", "--checkpoint.every_n_train_steps", "3"]
    for method in ("lora", "full"):
        build_cli(["fit", *quick, "--config", str(REPO / "configs" / "methods" / f"{method}.yaml")])
    runs = [str(in_tmp / "tb_logs" / f"quickstart-{m}" / "version_0") for m in ("lora", "full")]
    capsys.readouterr()
    assert main(["report", "--runs", *runs, "--output_dir", "cmp"]) == 0
    table = capsys.readouterr().out
    lora_row = next(line for line in table.splitlines() if line.startswith("| quickstart-lora | lora |"))
    full_row = next(line for line in table.splitlines() if line.startswith("| quickstart-full | full |"))
    rows = json.loads((in_tmp / "cmp" / "comparison.json").read_text())
    assert [r["method"] for r in rows] == ["lora", "full"]
    assert rows[0]["trainable_params"] < rows[1]["trainable_params"] == rows[1]["trainable_params"]
    assert rows[1]["trainable_percent"] == pytest.approx(100.0)
    assert all(r["train_time_s"] > 0 and r["peak_rss_mb"] > 0 and r["val_loss"] > 0 and r["tokens_per_sec"] > 0 for r in rows)
    assert f"{rows[0]['trainable_params']:,}" in lora_row and "100.000" in full_row
    assert (in_tmp / "cmp" / "losses.png").stat().st_size > 10_000


def test_report_without_runs_or_pair_is_one_line(in_tmp, capsys):
    assert main(["report"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: report needs --base and --tuned")
    assert main(["report", "--runs", "nowhere"]) == 2
    assert "nowhere is not a training run folder" in capsys.readouterr().err

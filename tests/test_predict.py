"""``predict`` for the three tasks through Lightning's predict loop: predictions.jsonl in the run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.benchmark.execution import STATUSES
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
FAST = ["--trainer.callbacks", "[]", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
CONFIGS = {"code": "quickstart.yaml", "qa": "quickstart-qa.yaml", "classification": "quickstart-classification.yaml"}
ROWS = {
    "code": [{"id": "sum", "input": "Read two integers from one line and print their sum.",
              "tests": [{"input": "2 3\n", "output": "5\n"}, {"input": "1 1\n", "output": "2\n"}]},
             {"id": "free", "input": "Print the larger of two integers."}],
    "qa": [{"id": "q1", "context": "Mira lives in Oslo.", "question": "Where does Mira live?"},
           {"id": "q2", "context": "The bridge opened in 1990.", "question": "Who built the bridge?"}],
    "classification": [{"text": "Stocks rally as markets close higher"}, {"text": "Team wins the cup final"},
                       {"text": "New chip doubles battery life"}],
}


def _config(task: str) -> list[str]:
    return ["--config", str(REPO / "configs" / CONFIGS[task]), *FAST]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, _isolated_cache: Path) -> Path:
    root = tmp_path_factory.mktemp("predict_runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for task in CONFIGS:
            build_cli(["fit", *_config(task), "--trainer.max_steps", "2", "--checkpoint.every_n_train_steps", "2",
                       "--trainer.limit_val_batches", "1", "--trainer.num_sanity_val_steps", "0"])
    return root


@pytest.mark.parametrize("task", list(CONFIGS))
def test_predict_writes_predictions_in_the_run_folder(runs, task, monkeypatch):
    monkeypatch.chdir(runs)
    rows = _write(runs / f"{task}.jsonl", ROWS[task])
    run_name = Path(CONFIGS[task]).stem
    extra = ["--model.init_args.max_new_tokens", "24"] if task != "classification" else []
    assert main(["predict", *_config(task), "--ckpt_path", "last", "--data.predict_path", str(rows), *extra]) == 0
    folder = max((runs / "tb_logs" / run_name).glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    predictions = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert (metrics["stage"], metrics["num_examples"], metrics["checkpoint_step"]) == ("predict", len(ROWS[task]), 2)
    assert len(predictions) == len(ROWS[task])
    if task == "classification":
        names = ["World", "Sports", "Business", "Sci/Tech"]
        for row, prediction in zip(ROWS[task], predictions):
            assert prediction["text"] == row["text"] and list(prediction["probabilities"]) == names
            assert abs(sum(prediction["probabilities"].values()) - 1) < 1e-4
            assert prediction["prediction"] == max(prediction["probabilities"], key=prediction["probabilities"].get)
    elif task == "qa":
        assert [p["id"] for p in predictions] == ["q1", "q2"]
        for prediction in predictions:
            assert isinstance(prediction["prediction"], str)
            assert prediction["unanswerable"] == (prediction["prediction"].strip().lower().rstrip(".") == "unanswerable")
    else:
        tested, untested = predictions
        assert tested["id"] == "sum" and isinstance(tested["completion"], str) and "program" in tested
        assert tested["verdict"]["status"] in STATUSES and "verdict" not in untested
        assert metrics["metrics"]["with_tests"] == 1
        assert metrics["metrics"]["passed"] == int(tested["verdict"]["status"] == "passed")


def _error(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert not any("Traceback" in line for line in lines)
    return lines[-1]


def test_predict_bad_input_is_one_line(runs, monkeypatch, capsys):
    monkeypatch.chdir(runs)
    base = ["predict", *_config("classification"), "--ckpt_path", "last"]
    assert _error(capsys, base) == ("error: predict needs data.predict_path: a .jsonl/.json/.csv/.parquet file of rows "
                                    "to predict.")
    (runs / "empty.jsonl").write_text("")
    assert _error(capsys, [*base, "--data.predict_path", "empty.jsonl"]) == (
        "error: Data file empty.jsonl (data.predict_path) is empty.")
    _write(runs / "wrong.jsonl", [{"sentence": "x"}])
    assert _error(capsys, [*base, "--data.predict_path", "wrong.jsonl"]) == (
        "error: wrong.jsonl (data.predict_path) has no field 'text'; its fields are sentence.")

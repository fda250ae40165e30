"""A short quickstart fit with each logger (CSV, MLflow, W&B offline): losses, learning rate, tokens/s and pass@1
at their steps, read back from each tracker's own files; the run's files as tracker artifacts; report --runs on CSV."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import time
from pathlib import Path

import pytest

from lightning_lora.__main__ import main

REPO = Path(__file__).resolve().parents[1]
#: Two checkpoints (10, 20), each benchmarked on two problems, and a validation at each.
SHORT = ["--trainer.enable_progress_bar", "false", "--run_name", "quick", "--trainer.max_steps", "20",
         "--checkpoint.every_n_train_steps", "10", "--eval_every_n_steps", "10",
         "--trainer.callbacks.settings.max_problems=2", "--trainer.callbacks.settings.max_new_tokens=16",
         "--trainer.callbacks.settings.timeout_s=5"]
LR = "lr-AdamW/pg1"  # LearningRateMonitor: one per parameter group (decayed matrices, the rest)


def _fit(logger: str, *extra: str) -> None:
    assert main(["fit", "--config", str(REPO / "configs" / "quickstart.yaml"),
                 "--config", str(REPO / "configs" / "loggers" / f"{logger}.yaml"), *SHORT, *extra]) == 0


def _needs(*modules: str) -> pytest.MarkDecorator:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} (pip install -e '.[trackers]')")


def _check_series(series: dict[str, list[tuple[int, float]]], pass_at_1: str) -> None:
    """Losses, learning rate and tokens/s logged during training, val/loss and pass@1 at the two checkpoints."""
    for key in ("train/loss", LR, "train/tokens_per_sec"):
        assert series.get(key), f"{key} not logged"
        assert all(0 <= step <= 20 and math.isfinite(value) for step, value in series[key]), key
    assert all(value > 0 for _, value in series["train/tokens_per_sec"])
    # Lightning logs a validation inside the training loop at the step before (the optimizer steps taken, minus one).
    assert [step for step, _ in series["val/loss"]] == [9, 19]
    assert [step for step, _ in series[pass_at_1]] == [10, 20]
    assert all(0.0 <= value <= 1.0 for _, value in series[pass_at_1])


def test_csv_logger_writes_the_run_folder_and_report_reads_it(in_tmp, capsys):
    from lightning_lora.reporting.runs import compare_runs, read_scalars, summarize_run

    _fit("csv")
    summary = capsys.readouterr().out
    assert "Logs (CSV, config.yaml, params.json, train_summary.json): tb_logs/quick/version_0/" in summary
    assert "tensorboard --logdir" not in summary and "report --runs tb_logs/quick/version_0" in summary
    run = in_tmp / "tb_logs" / "quick" / "version_0"
    assert {"metrics.csv", "config.yaml", "params.json", "train_summary.json"} <= {p.name for p in run.iterdir()}
    series: dict[str, list[tuple[int, float]]] = {}
    with open(run / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key != "step" and value:
                    series.setdefault(key, []).append((int(row["step"]), float(value)))
    _check_series(series, "benchmark/pass@1")
    assert {step for step, _ in read_scalars(run)["benchmark/pass@1"]} == {10, 20}  # report --runs reads CSV folders
    row = summarize_run(run)
    assert row["name"] == "quick" and row["method"] == "lora" and row["metric_name"] == "benchmark/pass@1"
    assert row["val_loss"] == series["val/loss"][-1][1] and row["tokens_per_sec"] > 0
    table, files = compare_runs([run], in_tmp / "report")
    assert "| quick | lora |" in table and (in_tmp / "report" / "losses.png") in files


def test_csv_resume_writes_a_new_version(in_tmp):
    """Lightning's CSVLogger deletes the metrics.csv of a version it reopens: a resumed fit keeps the first part's."""
    _fit("csv", "--trainer.max_steps", "10", "--trainer.callbacks.settings.max_problems=1")
    _fit("csv", "--ckpt_path", "last", "--trainer.callbacks.settings.max_problems=1")
    val_steps = {}
    for version in ("version_0", "version_1"):
        with open(in_tmp / "tb_logs" / "quick" / version / "metrics.csv", newline="") as f:
            val_steps[version] = [int(row["step"]) for row in csv.DictReader(f) if row.get("val/loss")]
    assert val_steps == {"version_0": [9], "version_1": [19]}


def test_report_runs_refuses_a_folder_without_scalars(tmp_path):
    from lightning_lora.errors import UserError
    from lightning_lora.reporting.runs import summarize_run

    with pytest.raises(UserError, match="no TensorBoard events, no CSV logger's metrics.csv"):
        summarize_run(tmp_path)


@_needs("mlflow", "sqlalchemy", "alembic")
def test_mlflow_records_metrics_and_the_runs_files(in_tmp):
    from mlflow.tracking import MlflowClient

    _fit("mlflow")
    client = MlflowClient("sqlite:///mlruns.db")
    experiment = client.get_experiment_by_name("lightning_lora")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "quick" and run.info.status == "FINISHED"
    # MLflow allows no "@" in metric names: Lightning's MLFlowLogger logs benchmark/pass@1 as benchmark/pass1.
    series = {key: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))
              for key in ("train/loss", "val/loss", LR, "train/tokens_per_sec", "benchmark/pass1")}
    _check_series(series, "benchmark/pass1")
    files = {a.path for folder in ("run", "benchmark") for a in client.list_artifacts(run.info.run_id, folder)}
    assert {"run/params.json", "run/config.yaml", "benchmark/step000010.results.json",
            "benchmark/step000020.results.json", "benchmark/step000020.samples.jsonl"} <= files
    params = json.loads(Path(client.download_artifacts(run.info.run_id, "run/params.json", str(in_tmp))).read_text())
    assert params["method"] == "lora" and params["trainable_params"] > 0
    assert not (in_tmp / "tb_logs").exists()  # no log folder: config.yaml stays in the checkpoint folder
    assert (in_tmp / "checkpoints" / "quick" / "config.yaml").is_file()
    ckpt = json.loads((in_tmp / "checkpoints" / "quick" / "step000020.results.json").read_text())
    assert series["benchmark/pass1"][-1][1] == pytest.approx(ckpt["summary"]["pass@k"]["pass@1"])


def _wandb_records(path: Path) -> list:
    """The records of an offline run's ``.wandb`` file: a 7-byte header, then LevelDB-log chunks (CRC, length,
    type) in 32 KiB blocks holding serialized ``Record`` protobufs. wandb itself has no reader for it offline
    (``wandb.Api`` needs the server), so this is the test's own, read-only."""
    from wandb.proto import wandb_internal_pb2

    data, block, records, pieces = path.read_bytes(), 32768, [], b""
    assert data[:4] == b":W&B"
    pos = 7
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a chunk header is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        if pos + 7 + length > len(data):  # a chunk still being written
            break
        pieces += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL, LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pieces)
            records.append(record)
            pieces = b""
    return records


def _finished_wandb_records(path: Path, timeout_s: float = 60.0) -> list:
    """The file's records once its ``exit`` record is there: wandb's service writes the file from its own process,
    and under load (a CI worker beside another) its last buffered write can land after ``wandb.finish()`` returns."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = _wandb_records(path)
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


@_needs("wandb")
def test_wandb_offline_writes_metrics_and_files_under_the_run_folder(in_tmp, monkeypatch):
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):  # nothing outside tmp_path
        monkeypatch.setenv(name, str(in_tmp / "wandb-home"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    import wandb

    _fit("wandb")
    wandb.finish()  # what the command's exit does: the run's last records reach its .wandb file
    (run_dir,) = (in_tmp / "tb_logs" / "quick" / "wandb").glob("offline-run-*")
    assert {"config.yaml", "params.json", "train_summary.json"} <= {p.name for p in (in_tmp / "tb_logs" / "quick").iterdir()}
    series: dict[str, list[tuple[int, float]]] = {}
    artifacts, run_names = [], []
    for record in _finished_wandb_records(next(run_dir.glob("run-*.wandb"))):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            values = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            step = values.get("trainer/global_step")
            for key, value in values.items():
                if isinstance(value, (int, float)) and step is not None:
                    series.setdefault(key, []).append((int(step), float(value)))
        elif kind == "artifact":
            artifacts.append(record.artifact.name)
        elif kind == "run":
            run_names.append(record.run.display_name)
    assert "quick" in run_names
    _check_series(series, "benchmark/pass@1")
    assert {"quick-step000010", "quick-step000020"} <= set(artifacts)
    files = run_dir / "files"
    assert json.loads((files / "run" / "params.json").read_text())["method"] == "lora"
    assert (files / "run" / "config.yaml").is_file() and (files / "benchmark" / "step000020.results.json").is_file()

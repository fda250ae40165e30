"""Keep-best-k checkpoints by a metric known after evaluation, and Lightning's EarlyStopping on benchmark metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.checkpoints.run_folder import KeepBest, read_scores
from lightning_lora.checkpoints.run_folder import record_scores as record
from lightning_lora.checkpoints.summary import evaluation_summary, scores_table, summary_line
from lightning_lora.errors import UserError
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false", "--trainer.callbacks.settings.max_problems=4",
         "--trainer.callbacks.settings.max_new_tokens=16", "--trainer.callbacks.settings.progress=false"]


def _fake_run(folder: Path, steps: list[int]) -> None:
    for step in steps:
        (folder / f"step{step:06d}.ckpt").write_bytes(b"x" * step)
        (folder / f"step{step:06d}.results.json").write_text("{}")
    (folder / "last.ckpt").write_bytes(b"last")


def test_keep_best_k_deletes_the_rest_as_scores_arrive_and_best_is_the_top_one(tmp_path):
    values = {10: 0.2, 20: 0.5, 30: 0.1, 40: 0.5, 50: 0.7}
    _fake_run(tmp_path, list(values))
    keep = KeepBest("benchmark/pass@1", "max", 2)
    deleted = []
    for step, value in values.items():
        record(tmp_path, f"step{step:06d}.ckpt", step, {"benchmark/pass@1": value}, {"benchmark": 1.5})
        deleted += keep.apply(tmp_path)
        assert (tmp_path / "best").resolve().is_file()  # best always names a file that exists
    assert deleted == ["step000030.ckpt", "step000010.ckpt", "step000040.ckpt"]  # a tie keeps the earlier step
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == ["last.ckpt", "step000020.ckpt", "step000050.ckpt"]
    assert len(list(tmp_path.glob("*.results.json"))) == 5
    best = json.loads((tmp_path / "best.json").read_text())
    assert (best["checkpoint"], best["score"], best["monitor"]) == ("step000050.ckpt", 0.7, "benchmark/pass@1")
    summary = evaluation_summary(tmp_path)
    assert summary["checkpoint_bytes_written"] == 150 and summary["checkpoint_bytes_freed"] == 80
    assert summary["evaluation_seconds"]["benchmark"] == {"total": 7.5, "mean": 1.5, "count": 5}
    assert summary_line(summary).startswith("checkpoints: 2 kept + last of 5 evaluated")
    (tmp_path / "last.ckpt").unlink()  # --checkpoint.save_last false: no "+ last" to claim
    assert summary_line(evaluation_summary(tmp_path)).startswith("checkpoints: 2 kept of 5 evaluated")
    table = scores_table(tmp_path)
    assert table.count("deleted") == 3 and "| 50 | 0.7000 | kept (best) |" in table


def test_min_mode_and_unscored_checkpoints_are_kept(tmp_path):
    _fake_run(tmp_path, [10, 20, 30])
    record(tmp_path, "step000010.ckpt", 10, {"val/loss": 3.0})
    record(tmp_path, "step000020.ckpt", 20, {"val/loss": 2.0, "benchmark/pass@1": 0.0})
    assert KeepBest("val/loss", "min", 1).apply(tmp_path) == ["step000010.ckpt"]
    assert (tmp_path / "step000030.ckpt").exists()  # not scored yet
    assert set(read_scores(tmp_path)) == {"step000010.ckpt", "step000020.ckpt"}


@pytest.mark.parametrize(("mode", "top_k", "message"), [
    ("best", 2, "--checkpoint.mode must be min or max, got 'best'."),
    ("max", 0, "--checkpoint.save_top_k must be -1 (keep all) or at least 1"),
])
def test_bad_retention_settings_name_the_option(mode, top_k, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        KeepBest("val/loss", mode, top_k)


def test_fit_keeps_the_best_two_by_validation_loss_of_each_checkpoint(in_tmp, caplog):
    build_cli(["fit", *QUICK, "--run_name", "keep", "--trainer.max_steps", "40", "--checkpoint.every_n_train_steps", "10",
               "--eval_every_n_steps", "10", "--checkpoint.save_top_k", "2", "--checkpoint.monitor", "val/loss"])
    run = in_tmp / "checkpoints" / "keep"
    scores = read_scores(run)
    assert sorted(e["step"] for e in scores.values()) == [10, 20, 30, 40]
    losses = {name: e["metrics"]["val/loss"] for name, e in scores.items()}
    best_two = sorted(losses, key=losses.get)[:2]
    assert sorted(p.name for p in run.glob("step*.ckpt")) == sorted(best_two)
    assert (run / "last.ckpt").is_file() and (run / "best").resolve().name == best_two[0]
    assert len(list(run.glob("step*.results.json"))) == 4  # every point stays in the table
    assert all("benchmark" in e["seconds"] for e in scores.values())
    summary = json.loads((run / "evaluations.json").read_text())
    assert summary["checkpoints_deleted"] == 2 and summary["checkpoint_bytes_freed"] > 0
    assert "evaluation per checkpoint: benchmark" in caplog.text and "| 40 |" in (run / "checkpoints.md").read_text()


def test_early_stopping_on_a_stalled_benchmark_metric_stops_and_refuses_a_silent_resume(in_tmp, capsys):
    args = ["fit", *QUICK, "--run_name", "stall", "--trainer.max_steps", "100", "--checkpoint.every_n_train_steps", "10",
            "--eval_every_n_steps", "10", "--model.init_args.optimizer.lr", "1e-9",  # the weights hardly move
            "--trainer.callbacks+=lightning.pytorch.callbacks.EarlyStopping",
            "--trainer.callbacks.monitor", "benchmark/pass@1", "--trainer.callbacks.mode", "max",
            "--trainer.callbacks.patience", "2"]
    cli = build_cli(args)
    assert cli.trainer.global_step == 30  # the first evaluation sets the bar, two more fail to beat it
    run = in_tmp / "checkpoints" / "stall"
    note = json.loads((run / "early_stop.json").read_text())
    assert note["step"] == 30 and note["monitor"] == "benchmark/pass@1" and "did not improve" in note["message"]
    capsys.readouterr()
    assert main([*args, "--ckpt_path", "last"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: checkpoints/stall stopped early at step 30") and "delete" in err

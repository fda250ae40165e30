"""The benchmark on every checkpoint during fit, `best` tracking, and scoring a finished run later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.checkpoints.run_folder import update_best
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false"]


def _results(pass1: float, passed: int, total: int) -> dict:
    return {"summary": {"pass@k": {"pass@1": pass1}, "problems_passed": passed, "num_problems": total}}


def test_best_follows_the_highest_pass_at_1_and_ties_keep_the_earlier(tmp_path):
    for step, pass1 in ((20, 0.0), (40, 0.5), (60, 0.25), (80, 0.5)):
        (tmp_path / f"step{step:06d}.ckpt").write_bytes(b"x")
        update_best(tmp_path, tmp_path / f"step{step:06d}.ckpt", step, _results(pass1, int(pass1 * 4), 4))
    best = json.loads((tmp_path / "best.json").read_text())
    assert best == {"checkpoint": "step000040.ckpt", "step": 40, "pass@1": 0.5, "passed": 2, "total": 4,
                    "results": "step000040.results.json"}
    assert (tmp_path / "best").resolve() == (tmp_path / "step000040.ckpt").resolve()


def test_fit_benchmarks_every_checkpoint_and_a_finished_run_can_be_rescored(in_tmp, capsys):
    build_cli(["fit", *QUICK, "--run_name", "bench", "--trainer.max_steps", "20", "--checkpoint.every_n_train_steps", "10",
               "--trainer.callbacks.settings.max_problems=4",  # the quickstart's BenchmarkCallback
               "--trainer.callbacks.settings.max_new_tokens=24", "--trainer.callbacks.settings.timeout_s=5"])
    run = in_tmp / "checkpoints" / "bench"
    for step in (10, 20):
        results = json.loads((run / f"step{step:06d}.results.json").read_text())
        assert results["summary"]["num_problems"] == 4 and results["summary"]["step"] == step
        assert len(results["samples"]) == 4 and {s["status"] for s in results["samples"]} <= {
            "passed", "wrong_answer", "runtime_error", "timeout", "memory", "syntax_error", "no_code"}
        assert len((run / f"step{step:06d}.samples.jsonl").read_text().splitlines()) == 4
    best = json.loads((run / "best.json").read_text())
    assert (run / "best").resolve() == (run / best["checkpoint"]).resolve()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(next((in_tmp / "tb_logs" / "bench" / "version_0").glob("events.*"))))
    acc.Reload()
    assert [e.step for e in acc.Scalars("benchmark/pass@1")] == [10, 20]

    capsys.readouterr()
    assert main(["benchmark", "--checkpoints_dir", str(run)]) == 0  # the run's own settings: best is rewritten
    table = capsys.readouterr().out
    assert "| 10 |" in table and "| 20 |" in table and "/4 |" in table and table.count("best") == 1
    assert json.loads((run / "best.json").read_text())["checkpoint"] == best["checkpoint"]  # greedy: same verdicts
    assert main(["benchmark", "--checkpoints_dir", str(run), "--max_problems", "2"]) == 0  # other settings
    assert "| 10 |" in capsys.readouterr().out
    assert json.loads((run / "step000010.max_problems2.results.json").read_text())["summary"]["num_problems"] == 2
    assert json.loads((run / "step000010.results.json").read_text())["summary"]["num_problems"] == 4
    assert (run / "best.max_problems2.json").exists() and json.loads((run / "best.json").read_text()) == best
    assert main(["benchmark", "--config", str(run / "config.yaml"), "--max_problems", "2"]) == 0
    base = json.loads((run / "base.max_problems2.results.json").read_text())
    assert base["summary"]["checkpoint"] is None and base["summary"]["num_problems"] == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--checkpoints_dir", "nowhere"], "--checkpoints_dir nowhere: no run folder there (fit writes one per run: "
                                       "checkpoints/<run_name>)."),
    (["--config", "missing.yaml"], "--config missing.yaml: no training config there (fit saves one beside its "
                                   "checkpoints: checkpoints/<run_name>/config.yaml)."),
])
def test_benchmark_modes_reject_bad_paths_in_one_line(in_tmp, capsys, args, message):
    assert main(["benchmark", *args]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"


def test_benchmark_base_scores_the_model_before_training_once_and_never_as_best(in_tmp, capsys):
    args = ["fit", *QUICK, "--run_name", "base", "--trainer.max_steps", "10", "--checkpoint.every_n_train_steps", "10",
            "--trainer.callbacks.settings.max_problems=4", "--trainer.callbacks.settings.max_new_tokens=24",
            "--trainer.callbacks.settings.timeout_s=5", "--trainer.callbacks.benchmark_base=true"]
    build_cli(args)
    run = in_tmp / "checkpoints" / "base"
    base = json.loads((run / "base.results.json").read_text())
    assert base["summary"]["step"] == 0 and base["summary"]["num_problems"] == 4
    assert json.loads((run / "best.json").read_text())["checkpoint"] == "step000010.ckpt"
    # adapter off is the base model exactly: the same completions as benchmarking the config's base model
    assert main(["benchmark", "--config", QUICK[1], "--max_problems", "4", "--max_new_tokens", "24"]) == 0
    written_by_benchmark = next((in_tmp / "checkpoints" / "quickstart").glob("base*.samples.jsonl"))
    plain = [json.loads(line)["completion"] for line in written_by_benchmark.read_text().splitlines()]
    assert [json.loads(line)["completion"] for line in (run / "base.samples.jsonl").read_text().splitlines()] == plain
    written = (run / "base.results.json").stat().st_mtime_ns
    build_cli([*args[:10], "20", *args[11:], "--ckpt_path", "last"])  # resumed: the base is not scored again
    assert (run / "base.results.json").stat().st_mtime_ns == written
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    steps = []
    for events in sorted((in_tmp / "tb_logs" / "base").glob("version_*/events.*")):
        acc = EventAccumulator(str(events))
        acc.Reload()
        steps += [e.step for e in acc.Scalars("benchmark/pass@1")]
    assert steps == [0, 10, 20]

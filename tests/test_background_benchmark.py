"""The code benchmark in a worker process while training goes on (``BenchmarkCallback(background=true)``): the same
results as in process, at their steps; keep-best and ``best`` once scores arrive; the end of fit waiting, or leaving the
command that finishes; a worker or a fit killed at any moment loses no finished score and leaves no partial file."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.callbacks.benchmark import BenchmarkCallback
from lightning_lora.callbacks.checkpoint import RunCheckpoint
from lightning_lora.checkpoints.run_folder import KeepBest, read_scores
from lightning_lora.errors import UserError
from lightning_lora.reporting.runs import read_scalars
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
SETTINGS = "{problems: synthetic:code, max_problems: 4, max_new_tokens: 16, timeout_s: 5.0, progress: false}"
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false", "--trainer.callbacks.settings.max_problems=4",
         "--trainer.callbacks.settings.max_new_tokens=16", "--trainer.callbacks.settings.progress=false",
         "--trainer.max_steps", "20", "--checkpoint.every_n_train_steps", "10", "--eval_every_n_steps", "10"]
BACKGROUND = ["--trainer.callbacks.background=true"]


def _benchmarked(run: Path) -> dict[int, dict[str, float]]:
    """``{step: benchmark metrics}`` of the checkpoints whose benchmark ``scores.json`` records."""
    return {e["step"]: {k: v for k, v in e["metrics"].items() if k.startswith("benchmark/")}
            for e in read_scores(run).values() if "benchmark" in e["seconds"]}


def _pass_at_1(logs: Path) -> list[tuple[int, float]]:
    """``benchmark/pass@1`` as TensorBoard has it, every version and events file of the run together."""
    points = []
    for version in sorted(p for p in logs.iterdir() if p.is_dir()):
        points += read_scalars(version).get("benchmark/pass@1", [])
    return sorted(points)


def _workers_of(folder: Path) -> list[int]:
    """Process ids of benchmark workers for ``folder`` still running."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"lightning_lora.commands.benchmark_worker" in command and str(folder.absolute()).encode() in command:
            found.append(int(proc.name))
    return found


def _no_partial_files(run: Path) -> None:
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
    for results in run.glob("*.results.json"):
        assert json.loads(results.read_text())["summary"]["checkpoint"] == results.name.replace(".results.json", ".ckpt")


def test_background_scores_equal_the_in_process_ones_at_their_steps_and_the_end_of_fit_waits_for_them(in_tmp, caplog):
    # Checkpoints at 15 and 30, and at 33 when training ends: that one's score is always still coming then.
    longer = ["--trainer.max_steps", "33", "--checkpoint.every_n_train_steps", "15", "--eval_every_n_steps", "15"]
    build_cli(["fit", *QUICK, *longer, "--run_name", "inline"])
    caplog.clear()
    build_cli(["fit", *QUICK, *longer, "--run_name", "aside", *BACKGROUND])
    inline, aside = in_tmp / "checkpoints" / "inline", in_tmp / "checkpoints" / "aside"
    for step in (15, 30, 33):
        stem = f"step{step:06d}"
        assert (aside / f"{stem}.samples.jsonl").read_text() == (inline / f"{stem}.samples.jsonl").read_text()
        ours, theirs = (json.loads((run / f"{stem}.results.json").read_text()) for run in (aside, inline))
        for key in ("pass@k", "problems_passed", "counts_by_status", "truncated", "checkpoint", "step"):
            assert ours["summary"][key] == theirs["summary"][key]
        assert [s["status"] for s in ours["samples"]] == [s["status"] for s in theirs["samples"]]
    assert _benchmarked(aside) == _benchmarked(inline) and sorted(_benchmarked(aside)) == [15, 30, 33]
    assert _pass_at_1(in_tmp / "tb_logs" / "aside") == _pass_at_1(in_tmp / "tb_logs" / "inline")
    assert [step for step, _ in _pass_at_1(in_tmp / "tb_logs" / "aside")] == [15, 30, 33]
    best = json.loads((aside / "best.json").read_text())
    assert best == json.loads((inline / "best.json").read_text()) and (aside / "best").resolve().name == best["checkpoint"]
    # Fit waited for the score of the checkpoint saved as training ended, which the summary table has.
    assert re.search(r"waiting for the background benchmark of [a-z0-9., ]*step000033.ckpt\n", caplog.text)
    assert "benchmark at step 33 (scored in the background)" in caplog.text
    assert "| 33 | 0.0000 |" in (aside / "checkpoints.md").read_text()
    assert _workers_of(aside) == []
    _no_partial_files(aside)


def test_keep_best_does_not_delete_a_checkpoint_awaiting_its_background_score(tmp_path):
    for step in (10, 20, 30):
        (tmp_path / f"step{step:06d}.ckpt").write_bytes(b"x")
    keeper = RunCheckpoint(dirpath=tmp_path)
    keeper.keep = KeepBest("val/loss", "min", 1)
    keeper.awaiting = frozenset({"step000010.ckpt", "step000020.ckpt"})
    keeper.add_scores(None, tmp_path / "step000010.ckpt", 10, {"val/loss": 3.0})
    keeper.add_scores(None, tmp_path / "step000020.ckpt", 20, {"val/loss": 4.0})
    keeper.add_scores(None, tmp_path / "step000030.ckpt", 30, {"val/loss": 2.0})
    # Ranked 30, 10, 20 by their validations: 10 and 20 wait for the benchmark, so both stay.
    assert sorted(p.name for p in tmp_path.glob("step*.ckpt")) == ["step000010.ckpt", "step000020.ckpt", "step000030.ckpt"]
    assert (tmp_path / "best").resolve().name == "step000030.ckpt"
    # 10's score arrives; 20, ranked after it, still waits: keeping 20 keeps what ranks above it too, till 20's arrives.
    keeper.awaiting = frozenset({"step000020.ckpt"})
    keeper.add_scores(None, tmp_path / "step000010.ckpt", 10, {"benchmark/pass@1": 0.5}, {"benchmark": 1.0})
    assert len(list(tmp_path.glob("step*.ckpt"))) == 3
    keeper.awaiting = frozenset()
    keeper.add_scores(None, tmp_path / "step000020.ckpt", 20, {"benchmark/pass@1": 0.0}, {"benchmark": 1.0})
    assert sorted(p.name for p in tmp_path.glob("step*.ckpt")) == ["step000030.ckpt"]


# Kills a benchmark worker (once: the marker file) just before its first results file would be renamed into place.
KILL_BEFORE_FIRST_RESULTS = '''
import os, signal

_replace = os.replace

def replace(src, dst, *args, **kwargs):
    marker = os.environ.get("BACKGROUND_TEST_KILL_MARKER")
    if marker and str(dst).endswith(".results.json") and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return _replace(src, dst, *args, **kwargs)

os.replace = replace
'''


def test_a_worker_killed_while_writing_leaves_no_partial_file_is_started_again_and_keep_best_waits(in_tmp, monkeypatch):
    inject = in_tmp / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(KILL_BEFORE_FIRST_RESULTS)  # read by the worker's interpreter only
    monkeypatch.setenv("PYTHONPATH", str(inject))
    monkeypatch.setenv("BACKGROUND_TEST_KILL_MARKER", str(in_tmp / "killed"))
    with pytest.warns(UserWarning, match=r"worker was killed \(SIGKILL\) while scoring step000010\.ckpt; starting it again"):
        build_cli(["fit", *QUICK, "--run_name", "keep", *BACKGROUND, "--trainer.max_steps", "30",
                   "--checkpoint.monitor", "val/loss", "--checkpoint.save_top_k", "1"])
    run = in_tmp / "checkpoints" / "keep"
    assert (in_tmp / "killed").exists()
    _no_partial_files(run)
    scores = read_scores(run)
    assert sorted(_benchmarked(run)) == [10, 20, 30]  # every checkpoint scored, none deleted before its score
    assert all(json.loads((run / f"step{s:06d}.results.json").read_text())["summary"]["step"] == s for s in (10, 20, 30))
    losses = {name: e["metrics"]["val/loss"] for name, e in scores.items()}
    assert [p.name for p in run.glob("step*.ckpt")] == [min(losses, key=losses.get)]
    assert sorted(name for name, e in scores.items() if e.get("deleted")) == sorted(set(losses) - {min(losses, key=losses.get)})


def test_the_end_of_fit_can_leave_scores_pending_with_the_command_that_records_them(in_tmp, caplog, capsys):
    build_cli(["fit", *QUICK, "--run_name", "later", *BACKGROUND, "--trainer.callbacks.wait_at_end=false",
               "--trainer.max_steps", "25",  # 25: saved as training ends, so still waiting for its score then
               "--checkpoint.monitor", "benchmark/pass@1", "--checkpoint.mode", "max", "--checkpoint.save_top_k", "1"])
    run = in_tmp / "checkpoints" / "later"
    assert _workers_of(run) == []
    left = re.search(r"not benchmarked yet: (.*); to score them.*\n  (python -m lightning_lora benchmark .*)", caplog.text)
    assert left is not None and "step000025.ckpt" in left.group(1)
    command = shlex.split(left.group(2))
    assert command[3:] == ["benchmark", "--checkpoints_dir", "checkpoints/later", "--unscored",
                           "--log_dir", "tb_logs/later/version_0"]
    pending = [int(name[4:10]) for name in left.group(1).split(", ")]
    assert not set(pending) & set(_benchmarked(run)) and (run / "step000025.ckpt").exists()
    assert not (run / "step000025.results.json").exists()

    capsys.readouterr()
    assert main(command[3:]) == 0
    out = capsys.readouterr().out
    assert "| 25 |" in out and f"recorded {len(pending)} checkpoint(s)" in out
    assert sorted(_benchmarked(run)) == [10, 20, 25]
    assert [step for step, _ in _pass_at_1(in_tmp / "tb_logs" / "later")] == [10, 20, 25]
    best = json.loads((run / "best.json").read_text())  # keep-best by pass@1: a tie keeps the earlier step
    assert (best["checkpoint"], best["monitor"]) == ("step000010.ckpt", "benchmark/pass@1")
    assert [p.name for p in run.glob("step*.ckpt")] == ["step000010.ckpt"]
    assert "| 25 | 0.0000 |" in (run / "checkpoints.md").read_text()
    assert main(command[3:]) == 0 and "nothing to do" in capsys.readouterr().out


# In the first fit only (BACKGROUND_TEST_GATE set): the worker holds step 10's results until the gate file exists, and
# never finishes step 20's.
GATED_WORKER = '''
import os, time

_replace = os.replace

def replace(src, dst, *args, **kwargs):
    gate = os.environ.get("BACKGROUND_TEST_GATE")
    if gate and str(dst).endswith("step000010.results.json"):
        while not os.path.exists(gate):
            time.sleep(0.1)
    if gate and str(dst).endswith("step000020.results.json"):
        while True:
            time.sleep(1)
    return _replace(src, dst, *args, **kwargs)

os.replace = replace
'''

KILLER = '''
import os, signal, time
from pathlib import Path

import lightning as L


class OpenGateThenKill(L.Callback):
    """At the batch after ``step`` steps: let the worker finish step 10, wait for its results file, then SIGKILL."""

    def __init__(self, step: int, gate: str, results: str) -> None:
        self.step, self.gate, self.results = step, gate, results

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            Path(self.gate).touch()
            deadline = time.monotonic() + 300
            while not Path(self.results).exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            os.kill(os.getpid(), signal.SIGKILL)
'''


def test_a_fit_killed_with_scores_in_flight_records_the_finished_one_and_scores_the_rest_on_resume(tmp_path):
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "sitecustomize.py").write_text(GATED_WORKER)
    (helpers / "bg_killer.py").write_text(KILLER)
    run = tmp_path / "checkpoints" / "resume"
    gate, results10 = tmp_path / "gate", run / "step000010.results.json"
    benchmark = f"{{class_path: lightning_lora.callbacks.benchmark.BenchmarkCallback, init_args: {{settings: {SETTINGS}, " \
                "background: true}}"
    killer = f"{{class_path: bg_killer.OpenGateThenKill, init_args: {{step: 22, gate: {gate}, results: {results10}}}}}"
    args = [sys.executable, "-m", "lightning_lora", "fit", *QUICK, "--run_name", "resume", "--trainer.max_steps", "30"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(helpers), str(REPO)])}
    # The killer first: at step 22 it acts before the benchmark callback looks for arrivals.
    first = subprocess.run([*args, "--trainer.callbacks", f"[{killer}, {benchmark}]"], cwd=tmp_path, timeout=600,
                           env={**env, "BACKGROUND_TEST_GATE": str(gate)}, capture_output=True, text=True)
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    deadline = time.monotonic() + 10
    while _workers_of(run) and time.monotonic() < deadline:  # the worker ends with the fit that started it
        time.sleep(0.2)
    assert _workers_of(run) == []
    assert _benchmarked(run) == {} and results10.exists() and not (run / "step000020.results.json").exists()
    samples10 = (run / "step000010.samples.jsonl").stat().st_mtime_ns

    resumed = subprocess.run([*args, "--trainer.callbacks", f"[{benchmark}]", "--ckpt_path", "last"], cwd=tmp_path,
                             timeout=600, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert "benchmark at step 10 (scored in the background before the interruption)" in log
    assert "benchmark at step 20 (scored in the background)" in log
    assert (run / "step000010.samples.jsonl").stat().st_mtime_ns == samples10  # recorded as it was, not made again
    assert sorted(_benchmarked(run)) == [10, 20, 30]
    assert [step for step, _ in _pass_at_1(tmp_path / "tb_logs" / "resume")] == [10, 20, 30]
    _no_partial_files(run)


def _settings() -> BenchmarkSettings:
    return BenchmarkSettings(problems="synthetic:code")


@pytest.mark.parametrize(("options", "message"), [
    ({"background": True, "background_threads": 0}, "BenchmarkCallback: background_threads must be at least 1, got 0."),
    ({"background": True, "background_device": "tpu9"}, "BenchmarkCallback: background_device 'tpu9' is not a device"),
    ({"wait_at_end": False}, "BenchmarkCallback: wait_at_end: false is for background: true"),
    ({"background_device": "cpu"}, "BenchmarkCallback: background_device is for background: true"),
])
def test_bad_background_options_name_the_option(options, message):
    with pytest.raises(UserError, match=re.escape(message)):
        BenchmarkCallback(_settings(), **options)


def test_background_refuses_early_stopping_on_its_metrics_in_one_line(in_tmp, capsys):
    assert main(["fit", *QUICK, "--run_name", "stop", *BACKGROUND,
                 "--trainer.callbacks+=lightning.pytorch.callbacks.EarlyStopping",
                 "--trainer.callbacks.monitor", "benchmark/pass@1", "--trainer.callbacks.mode", "max"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: BenchmarkCallback: background: true cannot feed EarlyStopping "
                              "(monitor benchmark/pass@1)")


def test_unscored_needs_a_run_folder_and_the_runs_own_settings(in_tmp, capsys):
    for args, message in ((["--ckpt_path", "x.ckpt", "--unscored"], "benchmark --unscored needs --checkpoints_dir"),
                          (["--checkpoints_dir", str(in_tmp), "--unscored", "--max_problems", "2"],
                           "benchmark --unscored records scores under the run's own settings"),
                          (["--checkpoints_dir", str(in_tmp), "--log_dir", "tb"], "benchmark: --log_dir goes with --unscored")):
        assert main(["benchmark", *args]) == 2
        assert capsys.readouterr().err.startswith(f"error: {message}")

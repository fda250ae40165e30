"""Stop a run mid-epoch (SIGKILL in a validation, SIGTERM, Ctrl-C inside a step, a validation, a save or the benchmark
of a saved checkpoint),
resume it with ``--ckpt_path last``: every later step logs the same train loss as the uninterrupted run, bit for bit
(CPU, fp32 and bf16), every validation and benchmark runs at the same step with the same values, and the run's records
(``scores.json``, ``checkpoints.md``, ``evaluations.json``) are the uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable, TypeVar

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_lora.reporting.runs import read_scalars

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# 40 training samples in batches of 8 (or 2 processes x 4): 5 steps per epoch, so 13 steps cross two
# epoch boundaries.
# LoRA dropout and a shuffled, length-grouped, packed order exercise the random and data state;
# validation every 3 steps runs between a checkpoint and the next step.
ARGS = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.max_steps", "13",
        "--data.max_samples", "40", "--data.batch_size", "8", "--data.group_by_length", "true", "--data.pack", "true",
        "--model.lora.lora_dropout", "0.1", "--eval_every_n_steps", "3", "--checkpoint.every_n_train_steps", "3",
        "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false"]


def _start(cwd: Path, *extra: str) -> subprocess.Popen:
    # This checkout's package first, whatever else is installed, and the test's killer callbacks. One thread
    # per process: the losses do not depend on what else runs, so runs may overlap.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests" / "helpers")])}
    return subprocess.Popen([sys.executable, "-m", "lightning_lora", "fit", *ARGS, *extra], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _fit(cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return _wait(_start(cwd, *extra))


def _train_losses(events_file: Path) -> dict[int, float]:
    acc = EventAccumulator(str(events_file), size_guidance={"scalars": 0})
    acc.Reload()
    return {e.step: e.value for e in acc.Scalars("train/loss")}


def _events(run: Path) -> list[Path]:
    return sorted((run / "tb_logs" / "quickstart" / "version_0").glob("events.out.tfevents.*"), key=os.path.getmtime)


DDP = ["--config", str(REPO / "configs" / "strategies" / "ddp.yaml"), "--data.batch_size", "4"]  # 2 processes x 4


# The code benchmark on every checkpoint, kept small (4 problems, 16 new tokens).
BENCHMARK_SETTINGS = "{problems: synthetic:code, max_problems: 4, max_new_tokens: 16, timeout_s: 5.0, progress: false}"
BENCHMARK = f"{{class_path: lightning_lora.callbacks.benchmark.BenchmarkCallback, init_args: {{settings: {BENCHMARK_SETTINGS}}}}}"


def _callbacks(callback: str | None, when: int, benchmark: bool) -> str:
    """``--trainer.callbacks``: the benchmark (when asked) and the callback that stops the run (none: uninterrupted)."""
    if callback == "BenchmarkInterruptedAt":  # the benchmark itself is interrupted
        return f"[{{class_path: killer.{callback}, init_args: {{settings: {BENCHMARK_SETTINGS}, step: {when}}}}}]"
    argument = "batch" if callback in ("InterruptAfterForward", "TerminateAtBatch") else "step"
    stop = [f"{{class_path: killer.{callback}, init_args: {{{argument}: {when}}}}}"] if callback else []
    return "[" + ", ".join(([BENCHMARK] if benchmark else []) + stop) + "]"


ACCUMULATE = ["--trainer.accumulate_grad_batches", "2"]
# (how the run is stopped and when: training batches counted from 0 for InterruptAfterForward / TerminateAtBatch,
# else the global step of the validation, benchmark or save interrupted; its exit status (None: Ctrl-C's);
# the step of the checkpoint it leaves as last; that checkpoint's position in epoch 1; whether the code benchmark
# runs on every checkpoint; extra arguments): every case resumes mid-epoch. Validation and a checkpoint come every
# 3 steps: after steps 3, 6, 9 and 12 (logged at steps 2, 5, 8, 11), the benchmark of each checkpoint first.
CASES = {
    # Killed in the middle of the validation of step 6 (after step 6's checkpoint): it runs again on resume.
    # bf16 base under bf16-mixed (fp32 adapters, optimizer state and loss), with two loader worker processes
    # whose data state must come back too: still bit for bit on the CPU. (fp32 is every other case.)
    "sigkill-during-validation-bf16-loader-workers": ("KillInValidation", 6, -signal.SIGKILL, 6, 1, False,
                                                      ["--data.num_workers", "2", "--model.dtype", "bfloat16",
                                                       "--trainer.precision", "bf16-mixed"]),
    # SIGTERM: the run stops at the end of that batch, saves and exits with status 143 ("terminated").
    "sigterm": ("TerminateAtBatch", 8, 143, 9, 4, True, []),
    # Every DDP process gets it (as a scheduler sends it); the resumed run goes on in 2 processes.
    "sigterm-every-ddp-process": ("TerminateAtBatch", 8, 143, 9, 4, False, DDP),
    # Arriving in the first micro-batch of a step, it waits for the end of the accumulation window.
    "sigterm-inside-gradient-accumulation": ("TerminateAtBatch", 7, 143, 5, 4, False, ACCUMULATE),
    # Inside step 9: saved (as last only) with the weights and counters after step 8, so the validations after
    # the resume come at steps 9 and 12 (Lightning's own save would have them at 11 only, logged at 10).
    "ctrl-c-inside-a-step": ("InterruptAfterForward", 8, None, 8, 3, True, []),
    # In the benchmark of step 9's checkpoint, before the validation of step 9: both run on resume.
    "ctrl-c-during-a-benchmark": ("BenchmarkInterruptedAt", 9, None, 9, 4, True, []),
    # While step 9's checkpoint is written: it is written on the way out, then benchmarked and validated on resume.
    "ctrl-c-during-a-save": ("InterruptInSave", 9, None, 9, 4, True, []),
}


_REFERENCES: dict[tuple[str, ...], Path] = {}


def _uninterrupted(tmp_path_factory: pytest.TempPathFactory, extra: list[str], benchmark: bool,
                   meanwhile: Callable[[], T]) -> tuple[Path, T]:
    """The uninterrupted run with these arguments (one per set of arguments, shared by the cases), and what
    ``meanwhile`` returns: it runs while the uninterrupted run does, when that one is not done yet."""
    key = (*extra, str(benchmark))
    if key in _REFERENCES:
        return _REFERENCES[key], meanwhile()
    folder = tmp_path_factory.mktemp("uninterrupted")
    running = _start(folder, *extra, "--trainer.callbacks", _callbacks(None, 0, benchmark))
    try:
        result = meanwhile()
    finally:
        done = _wait(running)
    assert done.returncode == 0, done.stderr[-3000:]
    _REFERENCES[key] = folder
    return folder, result


def _records(run: Path) -> tuple[dict[str, list[tuple[int, float]]], dict, str, dict, dict]:
    """What a run left: its TensorBoard scalars (every process's events), ``scores.json`` (the evaluations'
    metrics and which evaluations ran), ``checkpoints.md``, the counts of ``evaluations.json`` and the benchmark's
    generated programs per checkpoint (pass@1 is 0 for this tiny model: the programs are what differ)."""
    scalars = read_scalars(run / "tb_logs" / "quickstart" / "version_0")
    folder = run / "checkpoints" / "quickstart"
    scores = {name: {"step": entry["step"], "seconds": sorted(entry["seconds"]), "metrics": entry["metrics"]}
              for name, entry in json.loads((folder / "scores.json").read_text()).items()}
    summary = json.loads((folder / "evaluations.json").read_text())
    counts = {k: summary[k] for k in ("checkpoints_scored", "checkpoints_deleted", "step_checkpoints_kept")}
    counts["evaluations"] = {kind: v["count"] for kind, v in summary["evaluation_seconds"].items()}
    samples = {p.name: p.read_text() for p in folder.glob("*.samples.jsonl")}
    return scalars, scores, (folder / "checkpoints.md").read_text(), counts, samples


@pytest.mark.parametrize("case", list(CASES))
def test_interrupt_mid_epoch_then_resume_logs_the_same_series_bit_for_bit(tmp_path, tmp_path_factory, case):
    callback, when, status, saved_step, saved_batches, benchmark, extra = CASES[case]
    broken = tmp_path / "broken"
    broken.mkdir()
    whole, stopped = _uninterrupted(tmp_path_factory, extra, benchmark, lambda: _fit(
        broken, *extra, "--trainer.callbacks", _callbacks(callback, when, benchmark)))
    assert stopped.returncode == status if status is not None else stopped.returncode not in (0, -signal.SIGKILL), \
        stopped.stderr[-3000:]
    run = broken / "checkpoints" / "quickstart"
    saved = torch.load(run / "last.ckpt", weights_only=False)
    assert saved["global_step"] == saved_step
    position = saved["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]
    assert (position["epoch"], position["batches_done"]) == (1, saved_batches)  # mid-epoch
    # An interruption leaves no step file beside the periodic ones (every 3 steps): its state is in last only.
    assert sorted(p.name for p in run.glob("step*.ckpt")) == [f"step{s:06d}.ckpt" for s in range(3, saved_step + 1, 3)]

    resumed = _fit(broken, *extra, "--trainer.callbacks", _callbacks(None, 0, benchmark), "--ckpt_path", "last")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "not resumable" not in resumed.stderr and "starts over" not in resumed.stderr

    reference = _train_losses(_events(whole)[-1])
    after = _train_losses(_events(broken)[-1])  # the resumed process's own events file
    assert sorted(reference) == list(range(13))
    assert sorted(after) == list(range(saved_step, 13))  # logged at the step index before each optimizer step
    assert {s: after[s] for s in after} == {s: reference[s] for s in after}  # exact float equality
    # The final adapters are identical too.
    final = [torch.load(d / "checkpoints" / "quickstart" / "last.ckpt", weights_only=False)["state_dict"]
             for d in (whole, broken)]
    assert final[0].keys() == final[1].keys()
    for key in final[0]:
        assert torch.equal(final[0][key], final[1][key]), key

    # Every validation and benchmark, both processes' together: same steps, same values (exact), and the same
    # records of which checkpoint was evaluated how.
    expected, got = _records(whole), _records(broken)
    if extra != ACCUMULATE:  # 5 batches an epoch: with 2 per step, Lightning's validation every 6 batches drifts
        assert [step for step, _ in expected[0]["val/loss"]] == [2, 5, 8, 11]
    assert [step for step, _ in expected[0].get("benchmark/pass@1", [])] == ([3, 6, 9, 12, 13] if benchmark else [])
    for tag in ("train/loss", "val/loss", "val/perplexity", "benchmark/pass@1", "benchmark/problems_passed"):
        assert got[0].get(tag) == expected[0].get(tag), tag
    assert got[1] == expected[1]  # scores.json: checkpoints, their metrics (train/loss and lr too), evaluations run
    assert got[2] == expected[2]  # checkpoints.md
    assert got[3] == expected[3]  # evaluations.json: scored, deleted, kept, evaluations per kind
    assert got[4] == expected[4]  # the programs the benchmark generated from each checkpoint


def test_ctrl_c_inside_gradient_accumulation_saves_nothing(tmp_path):
    # Batch 8 is the second micro-batch of step 5: its partial gradients cannot go into a checkpoint.
    stopped = _fit(tmp_path, *ACCUMULATE, "--trainer.callbacks", _callbacks("InterruptAfterForward", 8, False))
    assert stopped.returncode not in (0, -signal.SIGKILL), stopped.stderr[-3000:]
    assert "micro-batch 1 of a 2-batch gradient accumulation" in stopped.stderr
    run = tmp_path / "checkpoints" / "quickstart"
    assert torch.load(run / "last.ckpt", weights_only=False)["global_step"] == 3  # the periodic one
    assert sorted(p.name for p in run.glob("step*.ckpt")) == ["step000003.ckpt"]


def test_a_saved_position_skips_trained_batches_unless_the_data_layout_changed(tmp_path, tiny_qwen2):
    from lightning_lora.data.code import CodeSFTDataModule

    path = tmp_path / "rows.jsonl"
    path.write_text("".join(f'{{"input": "Print {i}.", "solution": "print({i})", "output": ""}}\n' for i in range(40)))
    dm = CodeSFTDataModule(path=str(path), tokenizer_name_or_path=str(tiny_qwen2), batch_size=4)
    dm.setup("fit")
    whole = [batch["idx"].tolist() for batch in dm.train_dataloader()]
    position = {"epoch": 0, "batches_done": 3, **dm._layout()}

    loader = dm.train_dataloader()
    loader.load_state_dict(position)
    assert [batch["idx"].tolist() for batch in loader] == whole[3:]

    next_epoch = dm.train_dataloader()
    next_epoch.batch_sampler.set_epoch(1)
    loader = dm.train_dataloader()
    loader.load_state_dict({**position, "batches_done": len(whole)})  # saved at the end of epoch 0
    assert [batch["idx"].tolist() for batch in loader] == [batch["idx"].tolist() for batch in next_epoch] != whole

    loader = dm.train_dataloader()
    with pytest.warns(UserWarning, match="starts over"):
        loader.load_state_dict({**position, "batch_size": 8})
    assert [batch["idx"].tolist() for batch in loader] == whole


def test_random_state_in_a_checkpoint_is_the_one_at_the_end_of_the_last_completed_batch(tmp_path):
    import random
    from types import SimpleNamespace

    import numpy as np

    from lightning_lora.callbacks.random_state import RandomStateCheckpoint

    saving = RandomStateCheckpoint()
    torch.manual_seed(1), random.seed(1), np.random.seed(1)
    saving.on_train_batch_end(None, None, None, None, 0)
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.rand(5), random.random(), np.random.rand()  # a step interrupted half-way, then saved (Ctrl-C)
    torch.save(saving.state_dict(), tmp_path / "state.pt")

    restoring = RandomStateCheckpoint()
    restoring.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))  # loadable without pickle
    torch.manual_seed(7), random.seed(7), np.random.seed(7)
    restoring.on_train_batch_start(SimpleNamespace(global_rank=0, world_size=1), None, None, 0)
    assert torch.equal(torch.rand(3), expected[0])
    assert random.random() == expected[1] and np.random.rand() == expected[2]


def test_a_step_saved_again_after_a_resume_overwrites_its_file_instead_of_versioning_it(tmp_path):
    # Killed between a step file and last: the resumed run trains up to that step again (exactly) and saves it
    # under the same name, not step000009-v1.ckpt; other names keep Lightning's versioning.
    from types import SimpleNamespace

    from lightning_lora.callbacks.checkpoint import RunCheckpoint

    (tmp_path / "step000009.ckpt").write_bytes(b"x")
    (tmp_path / "other.ckpt").write_bytes(b"x")
    callback = RunCheckpoint(dirpath=tmp_path, filename="step{step:06d}")
    one_process = SimpleNamespace(reduce_boolean_decision=lambda decision, all: decision)
    trainer = SimpleNamespace(global_step=9, is_global_zero=True, strategy=one_process)
    assert not callback.file_exists(tmp_path / "step000009.ckpt", trainer)
    assert callback.file_exists(tmp_path / "other.ckpt", trainer)
    trainer.global_step = 12
    assert callback.file_exists(tmp_path / "step000009.ckpt", trainer)


def test_a_checkpoint_counts_as_evaluated_when_its_evaluation_seconds_are_recorded(tmp_path):
    from lightning_lora.callbacks.on_save import EvaluateOnSave
    from lightning_lora.checkpoints.run_folder import record_scores

    record_scores(tmp_path, "step000003.ckpt", 3, {"benchmark/pass@1": 0.5}, {"benchmark": 1.0})
    record_scores(tmp_path, "step000006.ckpt", 6, {"val/loss": 1.0})  # validated, not benchmarked
    benchmark = type("Benchmark", (EvaluateOnSave,), {"kind": "benchmark"})()
    assert benchmark.evaluated(tmp_path / "step000003.ckpt")
    assert not benchmark.evaluated(tmp_path / "step000006.ckpt")
    assert not benchmark.evaluated(tmp_path / "step000009.ckpt")
    assert not EvaluateOnSave().evaluated(tmp_path / "step000003.ckpt")  # no kind: evaluated again on resume


def test_ctrl_c_in_a_validation_between_two_checkpoints_saves_its_step_and_validates_it_on_resume(in_tmp, monkeypatch):
    # Validation every 2 steps, checkpoints every 3: Ctrl-C in the validation of step 4 saves step 4 as last only
    # (no step000004.ckpt), and the resumed run validates step 4 first, logged where the uninterrupted run logs it.
    # In-process runs (the same threads for all three), so no subprocess start-up.
    from lightning_lora.modules.causal_lm import CausalLMModule
    from lightning_lora.training.cli import build_cli

    quick = ["fit", *ARGS[:2], "--trainer.max_steps", "7", "--data.max_samples", "40", "--data.batch_size", "8",
             "--eval_every_n_steps", "2", "--checkpoint.every_n_train_steps", "3", "--trainer.callbacks", "[]",
             "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
    build_cli([*quick, "--run_name", "whole"])
    original = CausalLMModule.validation_step
    interrupted = []

    def validation_step(self, batch, batch_idx):
        if self.trainer.global_step == 4 and not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt
        return original(self, batch, batch_idx)

    monkeypatch.setattr(CausalLMModule, "validation_step", validation_step)
    with pytest.raises(SystemExit):
        build_cli([*quick, "--run_name", "broken"])
    run = in_tmp / "checkpoints" / "broken"
    assert torch.load(run / "last.ckpt", weights_only=False)["global_step"] == 4
    assert sorted(p.name for p in run.glob("step*.ckpt")) == ["step000003.ckpt"]
    build_cli([*quick, "--run_name", "broken", "--ckpt_path", "last"])

    scalars = {name: read_scalars(in_tmp / "tb_logs" / name / "version_0") for name in ("whole", "broken")}
    assert [step for step, _ in scalars["whole"]["val/loss"]] == [1, 3, 5]
    for tag in ("train/loss", "val/loss"):
        assert scalars["broken"][tag] == scalars["whole"][tag], tag
    assert (run / "checkpoints.md").read_text() == (in_tmp / "checkpoints" / "whole" / "checkpoints.md").read_text()

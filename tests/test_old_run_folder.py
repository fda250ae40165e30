"""A run folder and an adapter export written before the package took one folder per concept
(``tests/fixtures/run_before_layout``, see its README) keep working through every command that reads them:
generate, benchmark, export, fit's resume, and the old export itself.

Each test copies the fixture into its own folder (commands write beside the checkpoints) and points the export's
``base_model_path`` (an absolute path of the machine that wrote it) at this session's ``tiny:qwen2``, the model
the run's config names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_before_layout"
RUN = Path("checkpoints") / "before_layout"
EXPORT = Path("exports") / "before_layout"
PROMPTS = ["Read two integers from one line and print their sum.", "Print the maximum of two integers a and b."]


def _answers(capsys: pytest.CaptureFixture, *source: str) -> list[str]:
    answers = []
    for prompt in PROMPTS:
        capsys.readouterr()
        assert main(["generate", *source, "--prompt", prompt, "--max_new_tokens", "8", "--no_stream"]) == 0
        answers.append(capsys.readouterr().out)
    return answers


def test_generate_from_the_old_runs_best(old_run, capsys):
    capsys.readouterr()
    assert main(["generate", "--ckpt_path", str(RUN / "best"), "--prompt", PROMPTS[0], "--max_new_tokens", "8"]) == 0
    out, err = capsys.readouterr()
    assert out.endswith("\n")
    assert f"generate: {RUN / 'best'} (step 2, lora on tiny:qwen2); system prompt: 'You are a helpful coding assistant.'" in err


def test_benchmark_of_an_old_checkpoint_gives_its_recorded_samples_and_score(old_run, capsys):
    ckpt = RUN / "step000002.ckpt"
    assert main(["benchmark", "--ckpt_path", str(ckpt)]) == 0  # the config.yaml beside it builds the model
    recorded = FIXTURE / RUN / "step000002"
    ours_samples = [json.loads(line) for line in (old_run / RUN / "step000002.samples.jsonl").read_text().splitlines()]
    recorded_samples = [json.loads(line) for line in recorded.with_suffix(".samples.jsonl").read_text().splitlines()]
    # the same answers; samples now also say why each ended (these 8-token replies ran to the budget)
    assert [{k: s[k] for k in ("task_id", "sample_index", "completion")} for s in ours_samples] == recorded_samples
    assert all(s["finish_reason"] == "length" and s["truncated"] for s in ours_samples)
    ours = json.loads((old_run / RUN / "step000002.results.json").read_text())["summary"]
    theirs = json.loads(recorded.with_suffix(".results.json").read_text())["summary"]
    assert ours["pass@k"] == theirs["pass@k"] and ours["problems_passed"] == theirs["problems_passed"]
    assert (ours["checkpoint"], ours["step"]) == ("step000002.ckpt", 2)


def test_benchmark_of_the_old_run_folder(old_run, capsys):
    capsys.readouterr()
    assert main(["benchmark", "--checkpoints_dir", str(RUN)]) == 0
    table = capsys.readouterr().out
    assert "| 2 |" in table and "| 4 |" in table and table.count("best") == 1
    assert json.loads((old_run / RUN / "step000004.results.json").read_text())["summary"]["step"] == 4


def test_export_of_the_old_runs_best_has_the_old_exports_weights(old_run):
    from safetensors.torch import load_file

    assert main(["export", "--ckpt_path", str(RUN / "best"), "--output", "again"]) == 0
    ours = load_file(old_run / "again" / "adapter_model.safetensors")
    theirs = load_file(FIXTURE / EXPORT / "adapter_model.safetensors")
    assert sorted(ours) == sorted(theirs)
    for name, tensor in theirs.items():
        assert torch.equal(ours[name], tensor), name
    record = json.loads((old_run / "again" / "export.json").read_text())
    assert record["step"] == 2 and record["checkpoint"] == str((old_run / RUN / "step000002.ckpt").resolve())


def test_the_old_export_answers_like_its_checkpoint(old_run, capsys):
    from_export = _answers(capsys, "--model", str(EXPORT))
    assert from_export == _answers(capsys, "--ckpt_path", str(RUN / "step000002.ckpt"))


def test_fit_resumes_the_old_run(old_run, capsys):
    assert main(["fit", "--config", str(RUN / "config.yaml"), "--ckpt_path", "last", "--trainer.max_steps", "6",
                 "--trainer.enable_progress_bar", "false"]) == 0
    run = old_run / RUN
    assert torch.load(run / "step000006.ckpt", weights_only=True)["global_step"] == 6
    assert (run / "step000004.ckpt").read_bytes() == (FIXTURE / RUN / "step000004.ckpt").read_bytes()  # not trained again
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # The resumed fit continues the run's TensorBoard version (its config names the logger; the checkpoint its
    # version): a new events file in version_0, from step 4 on (a fresh start would log from step 0).
    folder = old_run / "tb_logs" / "before_layout"
    assert [p.name for p in folder.iterdir()] == ["version_0"]
    newest = max(folder.glob("version_0/events.out.tfevents.*"), key=lambda p: int(p.name.split(".")[3]))
    acc = EventAccumulator(str(newest))
    acc.Reload()
    assert min(e.step for e in acc.Scalars("train/loss")) >= 4
    # The fixture was written in another folder: the moved run still keeps one last.ckpt, now at step 6.
    assert torch.load(run / "last.ckpt", weights_only=True)["global_step"] == 6
    assert not list(run.glob("last-v*.ckpt"))


def test_resuming_a_finished_run_says_nothing_was_left_to_train(old_run, capsys):
    assert main(["fit", "--config", str(RUN / "config.yaml"), "--ckpt_path", "last",
                 "--trainer.enable_progress_bar", "false"]) == 0
    assert "Finished: 4 steps (nothing left to train: the checkpoint had reached the end)." in capsys.readouterr().out

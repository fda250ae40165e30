"""End to end through the CLI on the tiny model: learning, lean checkpoints, resume, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false", "--trainer.callbacks", "[]"]  # benchmark: tests/test_benchmark_callback.py


def _scalars(log_dir: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values = []
    for events in sorted(log_dir.glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events))
        acc.Reload()
        if tag in acc.Tags()["scalars"]:
            values += [(e.step, e.value) for e in acc.Scalars(tag)]
    return values


def test_loss_falls_and_logs_land_in_tb_logs(in_tmp):
    build_cli(["fit", *QUICK, "--run_name", "learn", "--trainer.max_steps", "30", "--eval_every_n_steps", "10",
               "--trainer.log_every_n_steps", "1", "--checkpoint.every_n_train_steps", "10"])
    log_dir = in_tmp / "tb_logs" / "learn" / "version_0"
    train = _scalars(log_dir, "train/loss")
    val = _scalars(log_dir, "val/loss")
    assert len(train) == 30 and [s for s, _ in val] == [9, 19, 29]
    assert sum(v for _, v in train[-5:]) / 5 < 0.6 * sum(v for _, v in train[:5]) / 5
    assert val[-1][1] < val[0][1] - 0.5
    assert _scalars(log_dir, "val/perplexity")[-1][1] == pytest.approx(torch.exp(torch.tensor(val[-1][1])).item(), rel=1e-4)
    assert _scalars(log_dir, "train/tokens_per_sec") and _scalars(log_dir, "lr-AdamW/pg1")
    assert (log_dir / "config.yaml").exists() and (log_dir / "params.json").exists()
    ckpts = sorted(p.name for p in (in_tmp / "checkpoints" / "learn").iterdir())
    assert ckpts == ["checkpoints.md", "config.yaml", "evaluations.json", "last.ckpt", "scores.json",
                     "step000010.ckpt", "step000020.ckpt", "step000030.ckpt"]


def test_checkpoint_holds_only_trainable_weights_and_is_far_smaller(in_tmp, tiny_qwen2):
    cli = build_cli(["fit", *QUICK, "--run_name", "lean", "--trainer.max_steps", "2", "--model.lora.r", "2",
                     "--model.lora.target_modules", "[q_proj, v_proj]", "--checkpoint.every_n_train_steps", "2"])
    ckpt = torch.load(in_tmp / "checkpoints" / "lean" / "last.ckpt", weights_only=True)
    trainable = {f"model.{n}" for n, p in cli.model.model.named_parameters() if p.requires_grad}
    assert set(ckpt["state_dict"]) == trainable
    assert ckpt["lightning_lora"]["trainable_keys"] == sorted(trainable)
    assert ckpt["lightning_lora"]["base_model"]["model_type"] == "qwen2"
    model_bytes = (tiny_qwen2 / "model.safetensors").stat().st_size
    assert (in_tmp / "checkpoints" / "lean" / "last.ckpt").stat().st_size < model_bytes / 4


def test_resume_continues_at_the_saved_step_with_the_same_logger_version(in_tmp):
    common = [*QUICK, "--run_name", "resume", "--checkpoint.every_n_train_steps", "10", "--trainer.log_every_n_steps", "1"]
    build_cli(["fit", *common, "--trainer.max_steps", "10"])
    cli = build_cli(["fit", *common, "--trainer.max_steps", "15", "--ckpt_path", "last"])
    assert cli.trainer.global_step == 15
    runs = sorted(p.name for p in (in_tmp / "tb_logs" / "resume").iterdir())
    assert runs == ["version_0"]
    steps = [s for s, _ in _scalars(in_tmp / "tb_logs" / "resume" / "version_0", "train/loss")]
    assert steps == list(range(15))  # 0..9 from the first run, 10..14 after resuming, none repeated


def test_a_checkpoint_from_other_settings_is_refused_by_name(in_tmp, capsys):
    build_cli(["fit", *QUICK, "--run_name", "ref", "--trainer.max_steps", "2", "--model.lora.r", "4",
               "--checkpoint.every_n_train_steps", "2"])
    ckpt = str(in_tmp / "checkpoints" / "ref" / "last.ckpt")
    assert main(["validate", *QUICK, "--run_name", "ref", "--model.lora.r", "8", "--ckpt_path", ckpt]) == 2
    assert "model.lora.r: checkpoint 4 vs config 8" in capsys.readouterr().err
    assert main(["validate", *QUICK, "--run_name", "ref", "--model.lora.r", "4", "--model.model_name_or_path",
                 "tiny:llama", "--ckpt_path", ckpt]) == 2
    err = capsys.readouterr().err
    assert "trained on base model 'tiny:qwen2' (model_type=qwen2)" in err and "'tiny:llama'" in err
    assert main(["validate", *QUICK, "--run_name", "ref", "--model.method", "full", "--ckpt_path", ckpt]) == 2
    assert "model.method='lora', the config says 'full'" in capsys.readouterr().err
    assert main(["validate", *QUICK, "--run_name", "ref", "--model.lora.r", "4", "--ckpt_path", ckpt]) == 0


def test_ckpt_path_auto_starts_a_new_run_then_resumes_it(in_tmp, capsys):
    common = [*QUICK, "--run_name", "auto", "--checkpoint.every_n_train_steps", "2", "--ckpt_path", "auto"]
    assert build_cli(["fit", *common, "--trainer.max_steps", "2"]).trainer.global_step == 2  # nothing to resume: starts
    assert build_cli(["fit", *common, "--trainer.max_steps", "4"]).trainer.global_step == 4  # resumes from step 2
    assert sorted(p.name for p in (in_tmp / "tb_logs" / "auto").iterdir()) == ["version_0"]
    assert main(["validate", *QUICK, "--run_name", "auto", "--ckpt_path", "auto"]) == 2
    assert "--ckpt_path auto is for fit" in capsys.readouterr().err


def test_ckpt_path_last_without_a_checkpoint_is_an_error(in_tmp, capsys):
    assert main(["fit", *QUICK, "--run_name", "nothing", "--ckpt_path", "last"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --ckpt_path last: no checkpoint at checkpoints/nothing/last.ckpt (run_name='nothing')."


def test_training_that_ends_between_saves_still_saves_its_final_state(in_tmp):
    build_cli(["fit", *QUICK, "--run_name", "end", "--trainer.max_steps", "7", "--checkpoint.every_n_train_steps", "5"])
    run = in_tmp / "checkpoints" / "end"
    assert sorted(p.name for p in run.glob("*.ckpt")) == ["last.ckpt", "step000005.ckpt", "step000007.ckpt"]
    assert torch.load(run / "last.ckpt", weights_only=True)["global_step"] == 7


def test_a_fresh_fit_into_an_existing_run_is_refused(in_tmp, capsys):
    build_cli(["fit", *QUICK, "--run_name", "twice", "--trainer.max_steps", "2", "--checkpoint.every_n_train_steps", "2"])
    assert main(["fit", *QUICK, "--run_name", "twice", "--trainer.max_steps", "2"]) == 2
    assert "checkpoints/twice already holds a run: resume it with --ckpt_path last" in capsys.readouterr().err


def test_a_foreign_checkpoint_file_is_one_clear_error(in_tmp, capsys):
    torch.save({"state_dict": {}}, in_tmp / "foreign.ckpt")
    (in_tmp / "text.ckpt").write_text("not a checkpoint")
    assert main(["validate", *QUICK, "--ckpt_path", "foreign.ckpt"]) == 2
    assert "foreign.ckpt is not a checkpoint written by lightning_lora fit." in capsys.readouterr().err
    assert main(["validate", *QUICK, "--ckpt_path", "text.ckpt"]) == 2
    assert "text.ckpt cannot be read as a torch checkpoint" in capsys.readouterr().err


def test_lora_weights_still_learn_with_gradient_checkpointing(in_tmp):
    cli = build_cli([*QUICK, "--run_name", "gc", "--trainer.max_steps", "3", "--model.gradient_checkpointing", "true",
                     "--checkpoint.every_n_train_steps", "100"], run=False)
    before = {n: p.detach().clone() for n, p in cli.model.model.named_parameters() if p.requires_grad}
    assert cli.model.model.base_model.model.is_gradient_checkpointing
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    after = dict(cli.model.model.named_parameters())
    changed = [n for n in before if "lora_B" in n and not torch.equal(before[n], after[n].detach())]
    assert len(changed) == len([n for n in before if "lora_B" in n]) > 0  # every B matrix moved off its zero init

"""Surviving failures: atomic checkpoint files, non-finite losses, saving on interruption."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.checkpoint_io import AtomicCheckpointIO
from lightning_lora.training_cli import build_cli

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false", "--trainer.callbacks", "[]", "--checkpoint.every_n_train_steps", "2"]


def test_a_save_that_dies_midway_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"step": 1, "w": torch.ones(3)}, target)

    def dying_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt  # the process is interrupted in the middle of writing

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2, "w": torch.zeros(3)}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left behind


def test_the_cli_trainer_writes_checkpoints_atomically(in_tmp):
    cli = build_cli([*QUICK], run=False)
    assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_a_non_finite_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(in_tmp, capsys, monkeypatch):
    from lightning_lora.modules.causal_lm import CausalLMModule

    original = CausalLMModule._loss

    def poisoned(self, batch):
        loss, tokens = original(self, batch)
        return (loss * float("nan") if self.global_step >= 3 else loss), tokens

    monkeypatch.setattr(CausalLMModule, "_loss", poisoned)
    assert main(["fit", *QUICK, "--run_name", "nan", "--trainer.max_steps", "10"]) == 1
    err = capsys.readouterr().err
    assert "error: Non-finite training loss (nan) at global step 3" in err
    run = in_tmp / "checkpoints" / "nan"
    assert sorted(p.name for p in run.glob("*.ckpt")) == ["last.ckpt", "step000002.ckpt"]
    last = torch.load(run / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2 and all(torch.isfinite(v).all() for v in last["state_dict"].values())


def test_an_interrupted_fit_saves_a_checkpoint_it_can_resume_from(in_tmp, monkeypatch):
    from lightning_lora.modules.causal_lm import CausalLMModule

    original = CausalLMModule.training_step

    def interrupted(self, batch, batch_idx):
        if self.global_step == 3:
            raise KeyboardInterrupt  # what Ctrl-C (and Lightning's SIGTERM handling) delivers
        return original(self, batch, batch_idx)

    monkeypatch.setattr(CausalLMModule, "training_step", interrupted)
    with pytest.raises(SystemExit):  # Lightning saves, then exits with status 1
        build_cli(["fit", *QUICK, "--run_name", "int", "--trainer.max_steps", "10", "--checkpoint.every_n_train_steps", "100"])
    saved = torch.load(in_tmp / "checkpoints" / "int" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 3
    monkeypatch.setattr(CausalLMModule, "training_step", original)
    cli = build_cli(["fit", *QUICK, "--run_name", "int", "--trainer.max_steps", "5", "--ckpt_path", "last"])
    assert cli.trainer.global_step == 5

"""A real two-process DDP run on CPU (gloo): it trains, validates, and only rank zero writes files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def test_ddp_with_two_cpu_processes_trains_and_rank_zero_alone_writes(tmp_path):
    args = [sys.executable, "-m", "lightning_lora", "fit", "--config", str(REPO / "configs" / "quickstart.yaml"),
            "--config", str(REPO / "configs" / "strategies" / "ddp.yaml"), "--trainer.callbacks", "[]",
            "--trainer.max_steps", "4", "--eval_every_n_steps", "2", "--checkpoint.every_n_train_steps", "2",
            "--data.batch_size", "8", "--trainer.enable_progress_bar", "false", "--trainer.log_every_n_steps", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in done.stdout + done.stderr
    assert sorted(p.name for p in (tmp_path / "tb_logs" / "quickstart").iterdir()) == ["version_0"]
    run = tmp_path / "checkpoints" / "quickstart"
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml", "last.ckpt", "step000002.ckpt", "step000004.ckpt"]
    assert torch.load(run / "last.ckpt", weights_only=True)["global_step"] == 4
    assert len(list((tmp_path / "tb_logs" / "quickstart" / "version_0").glob("events.out.tfevents.*"))) == 1

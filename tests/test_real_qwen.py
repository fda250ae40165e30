"""The seed's own model, offline: a short LoRA fit of the real Qwen2.5-Coder-0.5B-Instruct (fetched by setup), an exact
resume from its checkpoint, an adapter export that answers like the checkpoint, and a merged one. Skipped where the
model is not fetched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.models import fetch as models

QWEN = models.models_dir() / "qwen2.5-coder-0.5b-instruct"  # the user's cache: the session's own is empty
pytestmark = pytest.mark.skipif(not (QWEN / models.MARKER).is_file(),
                                reason="qwen2.5-coder-0.5b-instruct not fetched (python -m lightning_lora models fetch "
                                       "qwen2.5-coder-0.5b-instruct; scripts/setup.sh does)")
REPO = Path(__file__).resolve().parents[1]
#: The shipped config, cut to seconds: no benchmark, short samples, one validation batch, a checkpoint every step.
FIT = ["fit", "--config", str(REPO / "configs" / "qwen2.5-coder-0.5b-code.yaml"),
       "--model.init_args.model_name_or_path", str(QWEN), "--trainer.callbacks", "[]",
       "--data.init_args.max_length", "96", "--data.init_args.batch_size", "2", "--trainer.limit_val_batches", "1",
       "--checkpoint.every_n_train_steps", "1", "--eval_every_n_steps", "1", "--trainer.enable_progress_bar", "false"]
PROMPT = "Read two integers a and b from one line and print their sum."


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def _answer(capsys: pytest.CaptureFixture, *source: str) -> str:
    capsys.readouterr()
    assert main(["generate", *source, "--prompt", PROMPT, "--max_new_tokens", "24", "--no_stream"]) == 0
    return capsys.readouterr().out


def test_a_short_fit_resumes_exactly_and_its_adapter_export_answers_like_the_checkpoint(in_tmp, capsys):
    assert main([*FIT, "--run_name", "whole", "--trainer.max_steps", "2"]) == 0
    whole = in_tmp / "checkpoints" / "whole" / "step000002.ckpt"
    params = json.loads((in_tmp / "tb_logs" / "whole" / "version_0" / "params.json").read_text())
    assert (params["total_params"], params["trainable_params"]) == (502_830_976, 8_798_208)  # 494,032,768 + LoRA r16

    assert main([*FIT, "--run_name", "split", "--trainer.max_steps", "1"]) == 0
    assert main([*FIT, "--run_name", "split", "--trainer.max_steps", "2", "--ckpt_path", "last"]) == 0
    resumed = _weights(in_tmp / "checkpoints" / "split" / "step000002.ckpt")
    expected = _weights(whole)
    assert sorted(resumed) == sorted(expected)
    for name, tensor in expected.items():  # bf16 base, fp32 adapters: the same weights bit for bit
        assert torch.equal(resumed[name], tensor), name

    # The adapter export on the bf16 base answers exactly as the checkpoint does.
    assert main(["export", "--ckpt_path", str(whole), "--output", "adapter"]) == 0
    assert _answer(capsys, "--model", "adapter") == _answer(capsys, "--ckpt_path", str(whole))
    # A merged export of a bf16 base need not: W + BA rounded to bf16 moves the weights by up to half a bf16 step,
    # more than two steps of LoRA moved them (measured here: another first sentence). It loads in its training dtype
    # and answers; exactness is the adapter's.
    assert main(["export", "--ckpt_path", str(whole), "--output", "merged", "--merge"]) == 0
    assert _answer(capsys, "--model", "merged").strip()

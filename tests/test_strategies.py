"""Sharded strategies: FSDP's wrap policy for adapters, and clear errors where a strategy cannot run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.models.methods import LoraArgs
from lightning_lora.modules.causal_lm import CausalLMModule
from lightning_lora.training.strategies import adapter_wrap_policy

REPO = Path(__file__).resolve().parents[1]
QUICK = ["fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.max_steps", "1"]


def test_fsdp_policy_gives_decoder_layers_and_adapter_layers_units_of_their_own(tiny_qwen2):
    module = CausalLMModule(str(tiny_qwen2), lora=LoraArgs(r=2, target_modules=["q_proj", "v_proj"]))
    policy = adapter_wrap_policy(module)
    wrapped = {name for name, m in module.named_modules() if name and policy(module=m, recurse=False, nonwrapped_numel=1)}
    layers = {name for name, m in module.named_modules() if type(m).__name__ == "Qwen2DecoderLayer"}
    adapters = {name for name, m in module.named_modules()
                if isinstance(m, torch.nn.Linear) and any(p.requires_grad for p in m.parameters(recurse=False))}
    assert layers and adapters and all(".lora_" in name for name in adapters)
    assert wrapped == layers | adapters  # frozen projections stay in their layer's unit, adapters get their own


@pytest.mark.skipif(torch.accelerator.is_available(), reason="checks the refusal on a machine without an accelerator")
def test_fsdp_without_an_accelerator_is_one_clear_error(in_tmp, capsys):
    assert main([*QUICK, "--config", str(REPO / "configs" / "strategies" / "fsdp.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "needs GPUs" in err[-1] and "ddp.yaml" in err[-1]
    assert not list(in_tmp.rglob("*.ckpt"))


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is not None, reason="checks the message when deepspeed is missing")
def test_deepspeed_without_the_package_is_one_clear_error(in_tmp, capsys):
    assert main([*QUICK, "--config", str(REPO / "configs" / "strategies" / "deepspeed.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: lightning.pytorch.strategies.DeepSpeedStrategy could not be created: ")
    assert "deepspeed" in err[-1].lower() and "Traceback" not in "\n".join(err)

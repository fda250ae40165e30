"""A run loads its tokenizer once: the training CLI hands the one it loaded to the data module and the task module."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
FAST = ["--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]", "--trainer.max_steps", "2",
        "--eval_every_n_steps", "2", "--checkpoint.every_n_train_steps", "2"]


@pytest.fixture
def tokenizer_loads(monkeypatch):
    """The names ``AutoTokenizer.from_pretrained`` is called with from now on."""
    import transformers

    loads: list[str] = []
    original = transformers.AutoTokenizer.from_pretrained

    def counting(name, *args, **kwargs):
        loads.append(str(name))
        return original(name, *args, **kwargs)

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", counting)
    return loads


@pytest.mark.parametrize("config", ["quickstart.yaml", "quickstart-classification.yaml"])
def test_a_fit_loads_the_tokenizer_once_and_data_and_module_share_it(in_tmp, tiny_qwen2, tokenizer_loads, config):
    cli = build_cli(["fit", "--config", str(REPO / "configs" / config), *FAST, "--run_name", "once"])
    assert cli.trainer.global_step == 2
    assert len(tokenizer_loads) == 1, tokenizer_loads
    assert cli.datamodule.tokenizer is cli.model.tokenizer


def test_the_hand_over_serves_only_its_name_and_only_inside_its_block(tiny_qwen2, tokenizer_loads):
    from lightning_lora.models.loading import load_tokenizer, sharing_tokenizer

    mine = object.__new__(type("Tok", (), {"padding_side": "right"}))
    with sharing_tokenizer(str(tiny_qwen2), mine):
        assert load_tokenizer(str(tiny_qwen2)) is mine
        assert tokenizer_loads == []
        assert load_tokenizer(str(tiny_qwen2), padding_side="left") is not mine  # another request: loaded
        assert load_tokenizer("tiny:qwen2") is not mine  # another name (the same files): loaded
    assert load_tokenizer(str(tiny_qwen2)) is not mine
    assert len(tokenizer_loads) == 3


def test_a_module_built_outside_the_cli_loads_its_own_tokenizer(tiny_qwen2, tokenizer_loads):
    from lightning_lora.modules.causal_lm import CausalLMModule

    module = CausalLMModule(str(tiny_qwen2))
    assert module.tokenizer.pad_token is not None and tokenizer_loads == [str(tiny_qwen2)]

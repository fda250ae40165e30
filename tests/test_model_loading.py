"""Model loading by path (models/loading.py: the same code a hub id goes through), pad tokens, clear errors."""

from __future__ import annotations

import pytest
import torch

from lightning_lora.models.loading import BackboneError, load_causal_lm, load_tokenizer


def test_tiny_model_loads_back_by_path_with_chat_template(tiny_qwen2):
    tokenizer = load_tokenizer(str(tiny_qwen2))
    model = load_causal_lm(str(tiny_qwen2), dtype="bfloat16", attn_implementation="eager")
    assert model.config.model_type == "qwen2" and model.dtype == torch.bfloat16
    assert tokenizer.chat_template and tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.decode(tokenizer("print(a + b)")["input_ids"]) == "print(a + b)"


def test_tiny_spec_resolves_to_the_same_directory(tiny_qwen2):
    model = load_causal_lm("tiny:qwen2")
    assert model.config.hidden_size == 64 and model.config.num_hidden_layers == 2


def test_missing_pad_token_falls_back_to_eos(tmp_path):
    from lightning_lora.models.tiny import build_tokenizer

    tok = build_tokenizer()
    tok.pad_token = None
    tok.save_pretrained(tmp_path)
    loaded = load_tokenizer(str(tmp_path))
    assert loaded.pad_token == loaded.eos_token == "<|im_end|>"


@pytest.mark.parametrize(("name", "kwargs", "match"), [
    ("./no/such/model", {}, r"'\./no/such/model' \(model.model_name_or_path\) does not exist"),
    ("tiny:bert", {}, "Unknown tiny architecture 'bert'"),
    ("tiny:qwen2", {"dtype": "float8"}, "model.dtype 'float8'"),
])
def test_bad_model_names_are_one_clear_error(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_causal_lm(name, **kwargs)


def test_unreachable_hub_id_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneError, match="Could not load a tokenizer from 'nobody/does-not-exist'"):
        load_tokenizer("nobody/does-not-exist")


@pytest.mark.parametrize("arch", ["gemma2", "bloom"])
def test_an_architecture_without_sdpa_falls_back_to_eager_and_says_so(arch, tmp_path, capsys):
    import transformers

    from lightning_lora.models.loading import load_causal_lm

    config = (transformers.Gemma2Config(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=2, num_key_value_heads=1, head_dim=16)
              if arch == "gemma2" else transformers.BloomConfig(vocab_size=128, hidden_size=32, n_layer=2, n_head=2))
    transformers.AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path / arch)
    model = load_causal_lm(str(tmp_path / arch))  # the default attn_implementation, sdpa
    assert model.config._attn_implementation == "eager"
    assert "does not support attn_implementation 'sdpa'; using 'eager'." in capsys.readouterr().err
    ids = torch.tensor([[1, 2, 3, 4]])
    assert torch.isfinite(model(input_ids=ids, labels=ids).loss)

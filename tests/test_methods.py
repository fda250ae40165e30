"""Fine-tuning methods on tiny models: which parameters train, parameter counts, clear errors."""

from __future__ import annotations

import pytest

from lightning_lora.methods import LoraArgs, MethodError, apply_method, parameter_report, trainable_keys


def _model(arch: str):
    from transformers import AutoModelForCausalLM

    from lightning_lora.tiny import ensure_tiny_model

    return AutoModelForCausalLM.from_pretrained(ensure_tiny_model(arch))


def test_lora_trains_only_adapters_and_counts_them():
    model = _model("qwen2")
    total_before = sum(p.numel() for p in model.parameters())
    peft_model = apply_method(model, "lora", LoraArgs(r=4, target_modules=["q_proj", "v_proj"]))
    keys = trainable_keys(peft_model)
    assert keys and all("lora_A" in k or "lora_B" in k for k in keys)
    # 2 layers x (q_proj, v_proj) x (A: r x in + B: out x r); q: 64->64, v: 64->32 (2 kv heads of 16)
    expected = 2 * ((4 * 64 + 64 * 4) + (4 * 64 + 32 * 4))
    report = parameter_report(peft_model)
    assert report["trainable_params"] == expected
    assert report["total_params"] == total_before + expected
    assert report["trainable_bytes"] == expected * 4
    assert report["trainable_percent"] == pytest.approx(100 * expected / (total_before + expected))


def test_a_misspelled_target_module_is_named_even_when_others_match():
    with pytest.raises(MethodError, match=r"q_prj not found in Qwen2ForCausalLM.*q_proj"):
        apply_method(_model("qwen2"), "lora", LoraArgs(target_modules=["q_proj", "q_prj"]))


def test_gpt2_conv1d_targets_and_all_linear():
    model = apply_method(_model("gpt2"), "lora", LoraArgs(r=2, target_modules=["c_attn"]))
    assert any("c_attn.lora_A" in k for k in trainable_keys(model))
    model = apply_method(_model("llama"), "lora", LoraArgs(r=2, target_modules=["all-linear"]))
    names = trainable_keys(model)
    assert any("down_proj.lora_A" in k for k in names) and not any("lm_head" in k for k in names)


def test_full_none_and_bitfit():
    assert parameter_report(apply_method(_model("qwen2"), "none"))["trainable_params"] == 0
    full = apply_method(_model("qwen2"), "full")
    assert parameter_report(full)["trainable_params"] == parameter_report(full)["total_params"]
    bitfit = apply_method(_model("qwen2"), "bitfit")  # Qwen2 has q/k/v biases
    assert trainable_keys(bitfit) and all(k.endswith(".bias") for k in trainable_keys(bitfit))
    with pytest.raises(MethodError, match="needs bias terms"):
        apply_method(_model("llama"), "bitfit")


@pytest.mark.parametrize(("kwargs", "match"), [({"r": 0}, "lora.r"), ({"lora_dropout": 1.5}, "lora_dropout"),
                                               ({"bias": "some"}, "lora.bias"), ({"target_modules": []}, "target_modules")])
def test_bad_lora_settings_name_the_option(kwargs, match):
    with pytest.raises(MethodError, match=match):
        LoraArgs(**kwargs)


def test_unknown_method_is_refused():
    with pytest.raises(MethodError, match="model.method 'lorax'"):
        apply_method(_model("qwen2"), "lorax")

"""Fine-tuning methods on tiny models: which parameters train, that the loss falls, counts, clear errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from lightning_lora.models.methods import (
    IA3Args,
    LoraArgs,
    MethodError,
    apply_method,
    check_method_available,
    default_target_modules,
    method_metadata,
    parameter_report,
    quantization_config,
    trainable_keys,
)

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
#: The per-architecture defaults the methods must pick when the config leaves target modules unset.
LORA_TARGETS = {"qwen2": PROJECTIONS, "llama": PROJECTIONS, "gpt2": ["c_attn", "c_proj"], "distilbert": ["q_lin", "v_lin"]}
IA3_TARGETS = {"qwen2": ["k_proj", "v_proj", "down_proj"], "llama": ["k_proj", "v_proj", "down_proj"],
               "gpt2": ["c_attn", "mlp.c_proj"], "distilbert": ["k_lin", "v_lin", "lin2"]}
CLASSIFIER_HEADS = ["pre_classifier", "classifier"]
#: Learning rates that move each method visibly in a few Adam steps on a random-init model.
LEARNING_RATES = {"full": 1e-3, "lora": 1e-2, "dora": 1e-2, "ia3": 5e-2, "bitfit": 1e-2, "peft": 1e-2}


def _model(arch: str):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, DistilBertConfig

    from lightning_lora.models.tiny import ensure_tiny_model

    if arch == "distilbert":  # a classifier built from its config: nothing to download
        torch.manual_seed(0)
        config = DistilBertConfig(vocab_size=100, dim=32, hidden_dim=64, n_layers=2, n_heads=2, num_labels=3)
        return AutoModelForSequenceClassification.from_config(config)
    return AutoModelForCausalLM.from_pretrained(ensure_tiny_model(arch))


def _task(arch: str) -> str:
    return "SEQ_CLS" if arch == "distilbert" else "CAUSAL_LM"


def _matching(names: list[str], targets: list[str]) -> set[str]:
    """PEFT-wrapped names of the modules a list of targets selects (a name matches by its last components)."""
    return {f"base_model.model.{n}" for n in names if any(n == t or n.endswith("." + t) for t in targets)}


def _expected_keys(method: str, arch: str, base_names: list[str], base_params: list[str]) -> set[str]:
    heads = set()
    if arch == "distilbert" and method in ("lora", "dora", "ia3"):
        heads = {f"base_model.model.{h}.modules_to_save.default.{p}" for h in CLASSIFIER_HEADS for p in ("weight", "bias")}
    if method in ("lora", "dora"):
        parts = ["lora_A.default.weight", "lora_B.default.weight"]
        parts += ["lora_magnitude_vector.default.weight"] if method == "dora" else []
        return {f"{m}.{p}" for m in _matching(base_names, LORA_TARGETS[arch]) for p in parts} | heads
    if method == "ia3":
        return {f"{m}.ia3_l.default" for m in _matching(base_names, IA3_TARGETS[arch])} | heads
    if method == "bitfit":
        head_weights = {f"{h}.weight" for h in CLASSIFIER_HEADS} if arch == "distilbert" else set()
        return {n for n in base_params if n.endswith(".bias")} | head_weights
    return set(base_params) if method == "full" else set()


def _batch(model, arch: str) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (4, 16), generator=generator)
    labels = torch.randint(0, 3, (4,), generator=generator) if arch == "distilbert" else ids
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def _losses(model, batch: dict[str, torch.Tensor], lr: float, steps: int = 8) -> list[float]:
    """Plain PyTorch: Adam on the trainable parameters, one fixed batch, eval mode (no dropout noise)."""
    model.eval()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        loss = model(**batch).loss
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


CASES = [(arch, method) for arch in ("qwen2", "llama", "gpt2", "distilbert")
         for method in ("full", "lora", "dora", "ia3", "bitfit", "none") if not (arch == "llama" and method == "bitfit")]


@pytest.mark.parametrize(("arch", "method"), CASES, ids=[f"{a}-{m}" for a, m in CASES])
def test_each_method_trains_exactly_its_parameters_and_the_loss_falls(arch, method):
    model = _model(arch)
    base_names = [n for n, _ in model.named_modules() if n]
    base_params = [n for n, _ in model.named_parameters()]
    total = sum(p.numel() for p in model.parameters())
    adapted = apply_method(model, method, task_type=_task(arch))
    keys = set(trainable_keys(adapted))
    assert keys == _expected_keys(method, arch, base_names, base_params)
    report = parameter_report(adapted)
    assert report["trainable_params"] == sum(p.numel() for p in adapted.parameters() if p.requires_grad)
    if method in ("full", "bitfit", "none"):
        assert report["total_params"] == total  # nothing added
    if method == "none":
        assert report["trainable_params"] == 0
        return
    losses = _losses(adapted, _batch(adapted, arch), LEARNING_RATES[method])
    assert losses[-1] < losses[0] - 0.05, losses


def test_lora_counts_and_bytes_are_exact():
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
    assert report["trainable_bytes"] == expected * 4 and report["total_bytes"] == (total_before + expected) * 4
    assert report["trainable_percent"] == pytest.approx(100 * expected / (total_before + expected))


def test_a_4bit_parameter_counts_as_its_logical_size_and_its_stored_bytes():
    layer = torch.nn.Linear(8, 8, bias=False)
    packed = torch.nn.Parameter(torch.zeros(32, 1, dtype=torch.uint8), requires_grad=False)  # 64 weights, 2 per byte
    packed.quant_state = SimpleNamespace(shape=torch.Size([8, 8]))  # as bitsandbytes' Params4bit keeps it
    layer.weight = packed
    report = parameter_report(layer)
    assert report["total_params"] == 64 and report["total_bytes"] == 32 and report["trainable_params"] == 0


def test_default_targets_per_architecture_and_all_linear():
    for arch in ("qwen2", "llama", "gpt2", "distilbert"):
        assert default_target_modules(_model(arch)) == LORA_TARGETS[arch]
    gpt2 = apply_method(_model("gpt2"), "lora", LoraArgs(r=2, target_modules=["all-linear"]))
    assert gpt2.peft_config["default"].fan_in_fan_out  # Conv1D stores weights fan-in x fan-out
    llama = apply_method(_model("llama"), "lora", LoraArgs(r=2, target_modules=["all-linear"]))
    names = trainable_keys(llama)
    assert any("down_proj.lora_A" in k for k in names) and not any("lm_head" in k for k in names)


def test_ia3_with_explicit_modules():
    model = apply_method(_model("llama"), "ia3", ia3=IA3Args(target_modules=["v_proj", "down_proj"]))
    config = model.peft_config["default"]
    assert set(config.target_modules) == {"v_proj", "down_proj"} and set(config.feedforward_modules) == {"down_proj"}
    assert all(".v_proj." in k or ".down_proj." in k for k in trainable_keys(model))


def test_any_peft_config_as_a_dict():
    model = apply_method(_model("qwen2"), "peft",
                         peft_config={"peft_type": "loha", "r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]})
    keys = trainable_keys(model)
    assert keys and all("hada_" in k and (".q_proj." in k or ".v_proj." in k) for k in keys)
    losses = _losses(model, _batch(model, "qwen2"), LEARNING_RATES["peft"])
    assert losses[-1] < losses[0] - 0.05


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "lora", "lora": LoraArgs(target_modules=["q_proj", "q_prj"])},
     r"^model.lora.target_modules: q_prj not found in Qwen2ForCausalLM; its layers are named .*q_proj"),
    ({"method": "dora", "lora": LoraArgs(target_modules=["qkv"])}, r"^model.lora.target_modules: qkv not found"),
    ({"method": "ia3", "ia3": IA3Args(target_modules=["k_proj", "ffn"])}, r"^model.ia3.target_modules: ffn not found"),
    ({"method": "ia3", "ia3": IA3Args(feedforward_modules=["up_proj"])},
     r"^model.ia3.feedforward_modules: up_proj not among the targets k_proj, v_proj, down_proj\.$"),
    ({"method": "lorax"}, r"^model.method 'lorax' is not one of lora, dora, qlora, ia3, full, bitfit, peft, none\.$"),
    ({"method": "peft"}, r"^model.method 'peft' needs model.peft_config"),
    ({"method": "lora", "peft_config": {"peft_type": "LOHA"}}, r"^model.peft_config is set but model.method is 'lora'"),
    ({"method": "peft", "peft_config": {"r": 4}}, r"^model.peft_config needs a peft_type"),
    ({"method": "peft", "peft_config": {"peft_type": "LOHAX"}}, r"^model.peft_config.peft_type 'LOHAX' is not a PEFT type"),
    ({"method": "peft", "peft_config": {"peft_type": "LOHA", "rank": 4}}, r"^model.peft_config: LOHA has no option 'rank'\.$"),
    ({"method": "peft", "peft_config": {"peft_type": "LOHA", "target_modules": ["q_proj", "qq"]}},
     r"^model.peft_config.target_modules: qq not found"),
])
def test_bad_method_settings_are_one_line_naming_the_option(kwargs, match):
    with pytest.raises(MethodError, match=match) as info:
        apply_method(_model("qwen2"), **kwargs)
    assert "\n" not in str(info.value)


def test_ia3_feedforward_modules_must_be_targets():
    with pytest.raises(MethodError, match="^model.ia3.feedforward_modules: down_proj not in model.ia3.target_modules.$"):
        IA3Args(target_modules=["k_proj"], feedforward_modules=["down_proj"])


def test_bitfit_without_biases_is_refused():
    with pytest.raises(MethodError, match="^model.method 'bitfit' needs bias terms, but LlamaForCausalLM has none.$"):
        apply_method(_model("llama"), "bitfit")


@pytest.mark.parametrize(("kwargs", "match"), [({"r": 0}, "lora.r"), ({"lora_dropout": 1.5}, "lora_dropout"),
                                               ({"bias": "some"}, "lora.bias"), ({"target_modules": []}, "target_modules")])
def test_bad_lora_settings_name_the_option(kwargs, match):
    with pytest.raises(MethodError, match=match):
        LoraArgs(**kwargs)


def test_metadata_holds_the_settings_of_the_method_in_use():
    lora = LoraArgs(r=4)
    assert method_metadata("dora", lora)["lora"]["r"] == 4
    assert method_metadata("full", lora)["lora"] is None
    assert method_metadata("ia3", lora, IA3Args(target_modules=["k_proj"]))["ia3"]["target_modules"] == ["k_proj"]
    assert method_metadata("peft", None, peft_config={"peft_type": "LOHA"})["peft_config"] == {"peft_type": "LOHA"}


# -- QLoRA --------------------------------------------------------------------------------------------
def test_qlora_is_refused_on_cpu_in_one_line_before_anything_loads(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(MethodError, match=r"^model.method 'qlora' needs a CUDA GPU .*use 'lora' or 'dora'"):
        check_method_available("qlora")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else find_spec(name, *a))
    with pytest.raises(MethodError, match=r"^model.method 'qlora' needs the bitsandbytes package: pip install bitsandbytes.$"):
        check_method_available("qlora")


def test_qlora_on_this_machine_fails_through_the_cli_before_weights_load(in_tmp, capsys, monkeypatch):
    import transformers

    from lightning_lora.__main__ import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def no_loading(*args, **kwargs):
        raise AssertionError("weights were loaded before the qlora check")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", no_loading)
    config = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"
    code = main(["fit", "--config", str(config), "--model.method", "qlora", "--trainer.callbacks", "[]"])
    assert code == 2
    # the last line: a first load of the generated data in this process may print datasets' progress bar above it
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: model.method 'qlora' needs a CUDA GPU")


def test_quantization_config_is_4bit_nf4_only_for_qlora():
    assert quantization_config("lora", torch.bfloat16) is None
    config = quantization_config("qlora", torch.float16)
    assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_use_double_quant
    assert config.bnb_4bit_compute_dtype == torch.float16


@pytest.mark.skipif(not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None,
                    reason="QLoRA needs a CUDA GPU and bitsandbytes (4-bit NF4 kernels)")
def test_qlora_trains_adapters_on_a_4bit_base():
    from transformers import AutoModelForCausalLM

    from lightning_lora.models.tiny import ensure_tiny_model

    path = ensure_tiny_model("qwen2")
    plain = parameter_report(apply_method(AutoModelForCausalLM.from_pretrained(path), "lora"))
    check_method_available("qlora")
    base = AutoModelForCausalLM.from_pretrained(path, quantization_config=quantization_config("qlora", torch.float32),
                                                device_map={"": 0})
    model = apply_method(base, "qlora")
    assert all("lora_" in k for k in trainable_keys(model))
    report = parameter_report(model)
    assert report["total_params"] == plain["total_params"] and report["trainable_params"] == plain["trainable_params"]
    assert report["total_bytes"] < plain["total_bytes"]
    batch = {k: v.cuda() for k, v in _batch(model, "qwen2").items()}
    losses = _losses(model, batch, LEARNING_RATES["lora"])
    assert losses[-1] < losses[0] - 0.05

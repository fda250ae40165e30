"""Column-major linear weights while the refill engine decodes a float32 model on the CPU
(``lightning_lora/inference/weight_layout.py``): same values, same parameters, the same products up to float32
rounding, the row-major layout back after, and a model that trains afterwards."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, Qwen2Config

from lightning_lora.inference.weight_layout import column_major_linears


def _model() -> torch.nn.Module:
    config = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config)


def test_weights_switch_layout_and_back_keeping_parameters_and_values():
    model = _model()
    before = {name: (p, p.detach().clone()) for name, p in model.named_parameters()}
    linears = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    with torch.inference_mode(), column_major_linears(model) as switched:
        assert switched == len({id(w) for w in linears}) > 0  # the tied lm_head once
        assert all(not w.is_contiguous() and w.t().is_contiguous() for w in linears)
        assert all(torch.equal(p, before[name][1]) for name, p in model.named_parameters())
    assert all(w.is_contiguous() for w in linears)
    assert all(p is before[name][0] and torch.equal(p, before[name][1]) for name, p in model.named_parameters())
    assert model.lm_head.weight is model.get_input_embeddings().weight


def test_products_agree_to_float32_rounding_in_either_layout():
    """Not always bit for bit (the sgemm path may sum in another order), so answers are compared on real prompts
    in ``benchmarks/generation.py``; here: equal up to float32 rounding."""
    torch.manual_seed(1)
    for rows in (1, 4, 16, 17, 64):
        weight, x = torch.randn(96, 80), torch.randn(rows, 80)
        torch.testing.assert_close(torch.nn.functional.linear(x, weight),
                                   torch.nn.functional.linear(x, weight.t().contiguous().t()), rtol=1e-5, atol=1e-5)


def test_a_model_trains_after_generating_in_inference_mode():
    """The switch back happens outside inference mode: the weights are ordinary tensors a backward pass can use."""
    model = _model()
    ids = torch.randint(0, 64, (2, 8))
    with torch.inference_mode(), column_major_linears(model):
        model(input_ids=ids)
    assert not any(p.is_inference() for p in model.parameters())
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    assert model.lm_head.weight.grad is not None

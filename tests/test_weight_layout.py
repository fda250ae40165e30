"""Weight layouts while the refill engine decodes on the CPU (``lightning_lora/inference/weight_layout.py``):
column-major float32 weights and oneDNN-prepacked bf16/float32 weights keep the values and parameters, give the
same products (bit for bit in bf16, to float32 rounding in float32), go back after, and the model trains after."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, Qwen2Config

from lightning_lora.inference.weight_layout import column_major_linears, fast_linears, prepacked_linears


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


def test_prepacked_bf16_layers_give_the_same_logits_bit_for_bit():
    model = _model().to(torch.bfloat16).eval()
    ids = torch.randint(0, 64, (3, 9))
    with torch.inference_mode():
        plain = model(input_ids=ids).logits
        with prepacked_linears(model) as switched:
            assert switched == sum(isinstance(m, torch.nn.Linear) for m in model.modules()) > 0
            packed = model(input_ids=ids).logits
    assert torch.equal(packed, plain)
    assert not any("forward" in vars(m) for m in model.modules())  # the layers' own forward back


def test_prepacked_float32_layers_agree_to_rounding_and_take_column_major_s_place():
    model = _model().eval()
    ids = torch.randint(0, 64, (3, 9))
    with torch.inference_mode():
        plain = model(input_ids=ids).logits
        with fast_linears(model) as switched:
            weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
            assert switched == len(weights)  # every layer prepacked, none left for column-major
            assert all(w.is_contiguous() for w in weights)
            packed = model(input_ids=ids).logits
    torch.testing.assert_close(packed, plain, rtol=1e-5, atol=1e-5)


def test_no_layout_change_under_autocast_and_training_after_packing():
    model = _model()
    ids = torch.randint(0, 64, (2, 8))
    with torch.autocast("cpu", dtype=torch.bfloat16), fast_linears(model) as switched:
        assert switched == 0
    with torch.inference_mode(), fast_linears(model):
        model(input_ids=ids)
    with prepacked_linears(model):  # gradients on: the layers multiply as F.linear does, and backward works
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
    assert model.lm_head.weight.grad is not None


def test_linear_subclasses_with_their_own_forward_keep_it():
    class Scaled(torch.nn.Linear):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * super().forward(x)

    model = torch.nn.Sequential(torch.nn.Linear(8, 8), Scaled(8, 8)).to(torch.bfloat16)
    x = torch.randn(2, 8).bfloat16()
    with torch.inference_mode():
        plain = model(x)
        with prepacked_linears(model) as switched:
            assert switched == 1 and "forward" not in vars(model[1])
            assert torch.equal(model(x), plain)

"""The chunked LM-head cross-entropy and the adapter input cast switch (lightning_lora.modules.precision)."""

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

from lightning_lora.modules.precision import FastDropout, adapter_input_cast, linear_cross_entropy, use_fast_adapter_dropout


@pytest.mark.parametrize("weight_grad", [False, True])
def test_linear_cross_entropy_matches_full_logits_in_loss_and_gradients(weight_grad):
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(37, 16, generator=generator, requires_grad=True)
    weight = (torch.randn(50, 16, generator=generator) * 0.3).requires_grad_(weight_grad)
    targets = torch.randint(0, 50, (37,), generator=generator)
    reference = torch.nn.functional.cross_entropy(hidden @ weight.T, targets, reduction="sum")
    (reference * 0.5).backward()
    expected = hidden.grad.clone(), weight.grad.clone() if weight_grad else None
    hidden.grad, weight.grad = None, None

    loss = linear_cross_entropy(hidden, weight, targets, chunk=8)  # 37 rows: a ragged last chunk
    (loss * 0.5).backward()  # the incoming gradient scales the stored one
    torch.testing.assert_close(loss, reference)
    torch.testing.assert_close(hidden.grad, expected[0])
    if weight_grad:
        torch.testing.assert_close(weight.grad, expected[1])
    else:
        assert weight.grad is None


def test_linear_cross_entropy_is_fp32_under_bf16_autocast_and_close_to_fp32():
    generator = torch.Generator().manual_seed(1)
    hidden = torch.randn(20, 32, generator=generator).bfloat16()
    weight = torch.randn(64, 32, generator=generator).bfloat16()
    targets = torch.randint(0, 64, (20,), generator=generator)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = linear_cross_entropy(hidden, weight, targets)
    reference = torch.nn.functional.cross_entropy(hidden.float() @ weight.float().T, targets, reduction="sum")
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, reference, rtol=2e-2, atol=0)


def test_adapter_input_cast_switch_lets_bf16_activations_reach_fp32_adapters_under_autocast_only():
    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=1, vocab_size=64)
    model = get_peft_model(LlamaForCausalLM(config).to(torch.bfloat16),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    assert {p.dtype for p in model.parameters() if p.requires_grad} == {torch.float32}  # PEFT keeps adapters fp32
    ids = torch.randint(0, 64, (2, 8))
    with adapter_input_cast(model, False), torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    lora_a = next(p for n, p in model.named_parameters() if "lora_A" in n)
    assert lora_a.grad is not None and lora_a.grad.dtype == torch.float32
    # Restored after the block: without autocast the fp32 adapter gets its fp32 input again (generation).
    model(input_ids=ids, labels=ids).loss.backward()

@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fast_dropout_drops_at_rate_p_scales_the_rest_and_is_identity_in_eval(dtype):
    dropout = FastDropout(0.1)
    x = torch.ones(257, 129, dtype=dtype, requires_grad=True)  # odd element count: the last 16-bit half unused
    torch.manual_seed(0)
    out = dropout(x)
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.9) < 0.005
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.9))
    out.sum().backward()
    torch.testing.assert_close(x.grad, kept.to(dtype) / 0.9)
    torch.manual_seed(0)
    assert torch.equal(dropout(x), out)  # the global generator drives it: seeded runs repeat
    dropout.eval()
    assert torch.equal(dropout(x), x)


def test_fast_adapter_dropout_replaces_only_lora_dropout_with_the_same_rate():
    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=1, vocab_size=64, attention_dropout=0.0)
    model = get_peft_model(LlamaForCausalLM(config), LoraConfig(r=4, lora_dropout=0.2, target_modules=["q_proj", "v_proj"],
                                                                task_type="CAUSAL_LM"))
    assert use_fast_adapter_dropout(model) == 2
    rates = [m.p for m in model.modules() if isinstance(m, FastDropout)]
    assert rates == [0.2, 0.2]
    assert use_fast_adapter_dropout(model) == 0  # already replaced


def test_adapter_input_cast_leaves_tuner_layers_without_the_switch_alone():
    from peft import IA3Config

    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=1, vocab_size=64)
    model = get_peft_model(LlamaForCausalLM(config), IA3Config(target_modules=["k_proj", "down_proj"],
                                                               feedforward_modules=["down_proj"], task_type="CAUSAL_LM"))
    ids = torch.randint(0, 64, (2, 8))
    with adapter_input_cast(model, False):
        model(input_ids=ids, labels=ids).loss.backward()

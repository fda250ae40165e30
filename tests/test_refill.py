"""The refill engine: a finished row is replaced at once, and the answers are generate's (greedy, float32)."""

from __future__ import annotations

import pytest
import torch

from lightning_lora.inference.generation import GenerationOptions, generate_answers

PROMPTS = [f"Question {i}: " + "tell me more " * (1 + 3 * (i % 4)) for i in range(7)]


@pytest.fixture(scope="module")
def model(tokenizer):
    """A random model with large weights, so greedy answers differ between prompts and a padding or position mistake
    changes them (the saved tiny model babbles spaces)."""
    from transformers import AutoModelForCausalLM, Qwen2Config

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, initializer_range=0.3,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return AutoModelForCausalLM.from_config(config).eval()


@pytest.mark.parametrize("budget, batch", [(12, 2), (7, 3), (1, 4), (20, 7)])
def test_greedy_answers_and_their_reasons_are_generates(model, tokenizer, budget, batch):
    options = GenerationOptions(max_new_tokens=budget)
    plain = generate_answers(model, tokenizer, PROMPTS, options, batch_size=batch, progress=False)
    refilled = generate_answers(model, tokenizer, PROMPTS, options, batch_size=batch, progress=False, engine="refill")
    assert [(a.text, a.finish_reason) for a in refilled] == [(a.text, a.finish_reason) for a in plain]


def test_stop_strings_cut_as_generate_cuts(model, tokenizer):
    free = generate_answers(model, tokenizer, PROMPTS, GenerationOptions(max_new_tokens=16), batch_size=2,
                            progress=False, engine="refill")
    # a stop string taken from inside some answers: those end there, the others run on
    stop = next(a.text[3:5] for a in free if len(a.text) > 6 and a.text[3:5].strip())
    options = GenerationOptions(max_new_tokens=16, stop=(stop,))
    plain = generate_answers(model, tokenizer, PROMPTS, options, batch_size=2, progress=False)
    refilled = generate_answers(model, tokenizer, PROMPTS, options, batch_size=2, progress=False, engine="refill")
    assert [(a.text, a.finish_reason) for a in refilled] == [(a.text, a.finish_reason) for a in plain]
    assert any(a.finish_reason == "stop" for a in refilled)


def test_sampling_is_reproducible_from_the_seed(model, tokenizer):
    def sample(seed: int) -> list[str]:
        options = GenerationOptions(max_new_tokens=10, temperature=0.9, top_p=0.9, seed=seed)
        return [a.text for a in generate_answers(model, tokenizer, PROMPTS, options, batch_size=3, progress=False,
                                                 engine="refill")]

    assert sample(3) == sample(3) and sample(3) != sample(4)


def test_an_unknown_engine_is_one_line(model, tokenizer):
    from lightning_lora.errors import UserError

    with pytest.raises(UserError, match="engine must be one of auto, generate, refill, vllm, llamacpp"):
        generate_answers(model, tokenizer, PROMPTS[:1], engine="nope")


def test_auto_picks_refill_only_for_float32_computed_on_the_cpu(model):
    """``auto`` (the benchmark's default) takes refill where its answers are generate's token for token: float32
    weights computing in float32 on the CPU; bf16 weights, or float32 under bf16 autocast, keep generate."""
    import copy

    from lightning_lora.inference.generation import resolve_engine

    assert model.get_input_embeddings().weight.dtype == torch.float32
    assert resolve_engine(model, "auto") == "refill"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert resolve_engine(model, "auto") == "generate"
    assert resolve_engine(copy.deepcopy(model).to(torch.bfloat16), "auto") == "generate"
    assert resolve_engine(model, "generate") == "generate" and resolve_engine(object(), "auto") == "generate"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message a machine without CUDA gives")
def test_the_vllm_engine_says_what_it_needs(model, tokenizer, tmp_path):
    from lightning_lora.errors import UserError

    with pytest.raises(UserError, match="folder"):  # a model built in memory has no folder to load
        generate_answers(model, tokenizer, PROMPTS[:1], engine="vllm")
    model.save_pretrained(tmp_path)
    model.name_or_path = str(tmp_path)
    try:
        with pytest.raises(UserError, match="needs a CUDA GPU"):
            generate_answers(model, tokenizer, PROMPTS[:1], engine="vllm")
    finally:
        model.name_or_path = ""


def test_a_peft_model_refills_like_generate(model, tokenizer):
    import copy

    from peft import LoraConfig, get_peft_model

    torch.manual_seed(1)
    peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                                 init_lora_weights=False)).eval()
    options = GenerationOptions(max_new_tokens=9)
    plain = generate_answers(peft_model, tokenizer, PROMPTS, options, batch_size=3, progress=False)
    refilled = generate_answers(peft_model, tokenizer, PROMPTS, options, batch_size=3, progress=False, engine="refill")
    assert [a.text for a in refilled] == [a.text for a in plain]


def test_samples_of_one_prompt_share_its_prefill_and_draw_by_their_own_seed(model, tokenizer):
    from lightning_lora.inference.refill import generate_refilled

    prompts = [tokenizer(p)["input_ids"] for p in PROMPTS[:3]]
    jobs = [p for p in prompts for _ in range(4)]  # 4 samples per prompt, as the benchmark asks for n=4

    def sample(batch_size: int, seed: int = 5) -> tuple[list[list[int]], dict[str, int]]:
        stats: dict[str, int] = {}
        out = generate_refilled(model, tokenizer, jobs, max_new_tokens=8, eos_ids=[], temperature=0.9, top_p=0.95,
                                seed=seed, batch_size=batch_size, stats=stats)
        return out, stats

    out, stats = sample(batch_size=5)
    assert stats["prefilled"] == sum(map(len, prompts))  # each prompt once, not once per sample
    assert len({tuple(a) for a in out[:4]}) > 1  # the samples of one prompt differ
    again, _ = sample(batch_size=3)
    assert again == out  # each answer's draws are its own: the batch it shared does not matter
    assert sample(batch_size=5, seed=6)[0] != out


def test_prompt_lookup_drafts_keep_greedy_answers(model, tokenizer):
    from lightning_lora.inference.refill import generate_refilled

    # prompts that repeat themselves, so drafts are found and some are kept
    prompts = [tokenizer(("one two three four " * (2 + i)) + "one")["input_ids"] for i in range(5)]
    plain_stats: dict[str, int] = {}
    plain = generate_refilled(model, tokenizer, prompts, max_new_tokens=120, eos_ids=[], batch_size=3,
                              stats=plain_stats)
    stats: dict[str, int] = {}
    drafted = generate_refilled(model, tokenizer, prompts, max_new_tokens=120, eos_ids=[], batch_size=3,
                                draft_tokens=6, ngram=1, stats=stats)
    assert drafted == plain
    assert stats["accepted"] > 0 and stats["accepted"] < stats["drafted"]  # some drafts kept, some rejected
    assert stats["steps"] < plain_stats["steps"]
    assert stats["compactions"] > 0  # rejected drafts' cache columns were dropped along the way


def test_drafted_passes_run_ragged_with_the_same_answers_and_no_padding(model, tokenizer):
    """A drafted pass packs each row's tokens into one sequence: the same answers as padding every row to the
    longest draft, with only the real tokens run through the model."""
    from lightning_lora.inference.refill import generate_refilled

    prompts = [tokenizer(("one two three four " * (2 + i)) + "one")["input_ids"] for i in range(5)]
    plain = generate_refilled(model, tokenizer, prompts, max_new_tokens=60, eos_ids=[], batch_size=3)
    runs = {}
    for packed in (True, False):
        stats: dict[str, int] = {}
        runs[packed] = generate_refilled(model, tokenizer, prompts, max_new_tokens=60, eos_ids=[], batch_size=3,
                                         draft_tokens=6, ngram=1, pack_drafts=packed, stats=stats), stats
    (ragged, ragged_stats), (padded, padded_stats) = runs[True], runs[False]
    assert ragged == padded == plain
    assert ragged_stats["draft_steps"] == padded_stats["draft_steps"] > 0
    assert ragged_stats["positions"] < padded_stats["positions"]
    # every position run is a kept token or a rejected draft token: nothing else
    assert ragged_stats["positions"] == (sum(map(len, ragged)) - len(prompts)
                                         + ragged_stats["drafted"] - ragged_stats["accepted"])


def test_models_with_sliding_windows_or_soft_capping_draft_padded(model):
    """The ragged mask knows neither a sliding window nor soft-capping: such models keep padded drafted passes."""
    import copy

    from lightning_lora.inference.attention import packed_attention, ragged_ready

    with packed_attention(model):
        assert ragged_ready(model)
    assert not ragged_ready(model)  # outside packed attention: transformers' own SDPA
    for change in ({"sliding_window": 4}, {"attn_logit_softcapping": 30.0}, {"layer_types": ["sliding_attention"] * 2}):
        other = copy.deepcopy(model)
        for key, value in change.items():
            setattr(other.config, key, value)
        with packed_attention(other):
            assert not ragged_ready(other), change

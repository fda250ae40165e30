"""Generation: batched left-padded greedy equals one-at-a-time, stop strings, sampling seeds, PEFT models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config

from lightning_lora.benchmark import runner
from lightning_lora.benchmark.extract import EVALPLUS_STOP, EVALPLUS_SYSTEM_PROMPT
from lightning_lora.benchmark.runner import FUNCTION_STOP, generate_samples, run_benchmark, truncate_at_stop
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.errors import UserError
from lightning_lora.models.tiny import ensure_tiny_model
from lightning_lora.problems.sources import Problem, ProblemSet

PROBLEMS = [
    Problem(f"p{i}", "Read two integers and print their sum. " * (1 + i % 4) + f"Case {i}.",
            tests=[{"input": "1 2\n", "output": "3\n"}])
    for i in range(6)
]


@pytest.fixture(scope="module")
def tiny_dir() -> Path:
    return ensure_tiny_model("qwen2")


@pytest.fixture(scope="module")
def tokenizer(tiny_dir: Path):
    return AutoTokenizer.from_pretrained(tiny_dir)


@pytest.fixture(scope="module")
def lively_model(tokenizer):
    """A random model with large weights, so greedy outputs differ between prompts (the saved tiny one babbles
    spaces) and a padding mistake would change them."""
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, initializer_range=0.3,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return AutoModelForCausalLM.from_config(config)


def raw(prompt: str) -> str:
    return prompt


def test_batched_left_padded_equals_one_at_a_time(lively_model, tokenizer) -> None:
    lively_model.train()
    batched = generate_samples(lively_model, tokenizer, PROBLEMS, build_prompt=raw, max_new_tokens=10, batch_size=8,
                               progress=False)
    single = generate_samples(lively_model, tokenizer, PROBLEMS, build_prompt=raw, max_new_tokens=10, batch_size=1,
                              progress=False)
    assert [s["completion"] for s in batched] == [s["completion"] for s in single]
    assert len({s["completion"] for s in batched}) > 1  # outputs depend on the prompt
    assert [(s["task_id"], s["sample_index"]) for s in batched] == [(p.task_id, 0) for p in PROBLEMS]
    assert lively_model.training and tokenizer.padding_side == "right"  # both restored


def test_stop_strings_cut_completions(lively_model, tokenizer) -> None:
    full = generate_samples(lively_model, tokenizer, PROBLEMS, build_prompt=raw, max_new_tokens=12, progress=False)
    stop = max("aeiou", key=lambda ch: sum(ch in s["completion"] for s in full))  # a stop string that occurs
    cut = generate_samples(lively_model, tokenizer, PROBLEMS, build_prompt=raw, max_new_tokens=12, stop=[stop],
                           progress=False)
    assert any(stop in s["completion"] for s in full)
    for f, c in zip(full, cut):
        assert stop not in c["completion"]
        assert c["completion"] == truncate_at_stop(f["completion"], [stop])


def test_truncate_at_stop() -> None:
    assert truncate_at_stop("a\ndef b\nclass c", ["\nclass", "\ndef"]) == "a"
    assert truncate_at_stop("abc", ["x"]) == "abc"


def test_sampling_is_seeded_and_leaves_callers_rng_alone(lively_model, tokenizer) -> None:
    kw = dict(build_prompt=raw, n=3, temperature=1.0, max_new_tokens=8, progress=False)
    torch.manual_seed(123)
    a = generate_samples(lively_model, tokenizer, PROBLEMS[:2], seed=7, **kw)
    after = torch.rand(1)
    b = generate_samples(lively_model, tokenizer, PROBLEMS[:2], seed=7, **kw)
    c = generate_samples(lively_model, tokenizer, PROBLEMS[:2], seed=8, **kw)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after)
    assert a == b and a != c
    assert [s["sample_index"] for s in a] == [0, 1, 2, 0, 1, 2]


def test_greedy_with_several_samples_is_refused() -> None:
    with pytest.raises(ValueError, match="temperature > 0"):
        BenchmarkSettings(n=2, temperature=0.0)


def test_run_benchmark_with_a_peft_model(tiny_dir: Path, tokenizer) -> None:
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_dir),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    settings = BenchmarkSettings(n=2, temperature=0.8, max_new_tokens=8, k=(1, 2), timeout_s=2, workers=2,
                                 system_prompt="You write Python.", progress=False)
    samples, results = run_benchmark(model, tokenizer, ProblemSet("tiny", PROBLEMS[:3]), settings)
    assert len(samples) == 6
    summary = results["summary"]
    assert summary["num_samples"] == 6 and set(summary["pass@k"]) == {"pass@1", "pass@2"}
    assert summary["generation"]["prompt_style"] == "chat"  # the tiny tokenizer has a chat template
    assert summary["generation"]["n"] == 2 and summary["generation"]["system_prompt"] == "You write Python."
    assert sum(summary["counts_by_status"].values()) == 6
    assert summary["generation"]["engine"] == "auto" and summary["generation"]["engine_used"] == "refill"  # float32


FUNCTION_PROBLEMS = [Problem("add", 'def add(a, b):\n    """The sum."""\n', kind="function", entry_point="add",
                             test="def check(candidate):\n    assert candidate(2, 3) == 5\n")]


@pytest.mark.parametrize("style, stop", [("raw", list(FUNCTION_STOP)), ("chat", []),
                                         ("evalplus", list(EVALPLUS_STOP)), ("auto", list(EVALPLUS_STOP))])
def test_function_problems_are_put_as_each_prompt_style_says(tiny_dir: Path, tokenizer, style: str, stop: list[str]) -> None:
    seen: list[str] = []
    real_generate = runner.generate_answers

    def spy(model, tok, prompts, *args, **kwargs):
        seen.extend(prompts)
        return real_generate(model, tok, prompts, *args, **kwargs)

    settings = BenchmarkSettings(max_new_tokens=4, prompt_style=style, timeout_s=2, workers=1, progress=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "generate_answers", spy)
        samples, results = run_benchmark(AutoModelForCausalLM.from_pretrained(tiny_dir), tokenizer, FUNCTION_PROBLEMS,
                                         settings)
    generation = results["summary"]["generation"]
    assert generation["stop"] == stop
    if style == "chat":
        assert seen[0].startswith("<|im_start|>") and "```python\ndef add(a, b):" in seen[0]
        assert seen[0].endswith("<|im_start|>assistant\n")
    elif style == "raw":
        assert seen == [FUNCTION_PROBLEMS[0].prompt]
    else:  # the Qwen report's protocol: its system prompt and question, the answer opened with a fence
        assert generation["prompt_style"] == "evalplus" and generation["system_prompt"] == EVALPLUS_SYSTEM_PROMPT
        assert seen[0].startswith(f"<|im_start|>system\n{EVALPLUS_SYSTEM_PROMPT}<|im_end|>")
        assert "Can you complete the following Python function?\n```python\ndef add(a, b):" in seen[0]
        assert seen[0].endswith("<|im_start|>assistant\n```python\n")
        assert samples[0]["completion"].startswith("```python\n")  # the prefill is part of the reply scored
    # four new tokens cannot finish a function: every reply is counted as cut, whatever it scored
    assert samples[0]["truncated"] is (samples[0]["finish_reason"] == "length")
    assert results["summary"]["truncated"]["samples"] == sum(s["truncated"] for s in samples)


def test_evalplus_is_refused_for_stdin_problems(tiny_dir: Path, tokenizer) -> None:
    settings = BenchmarkSettings(max_new_tokens=4, prompt_style="evalplus", progress=False)
    with pytest.raises(UserError, match="prompt_style 'evalplus'.*stdin problems"):
        run_benchmark(AutoModelForCausalLM.from_pretrained(tiny_dir), tokenizer, PROBLEMS[:1], settings)


def test_truncation_is_counted_beside_the_statuses() -> None:
    from lightning_lora.benchmark.scoring import evaluate

    cut = "```python\ndef add(a, b):\n    return a + b\n\n\ndef test_add():\n    assert add(1, 2) == 3\n    assert add("
    samples = [{"task_id": "add", "completion": cut, "truncated": True}]
    summary = evaluate(FUNCTION_PROBLEMS, samples, timeout_s=5, workers=1)["summary"]
    # the sanitizer keeps the complete function and drops the cut test: a pass, still counted as cut
    assert summary["problems_passed"] == 1
    assert summary["truncated"]["samples"] == 1 and summary["truncated"]["by_status"] == {"passed": 1}
    old = evaluate(FUNCTION_PROBLEMS, [{"task_id": "add", "completion": cut}], timeout_s=5, workers=1)["summary"]
    assert old["truncated"] is None  # samples that do not say are not counted as whole


def test_a_chat_reply_with_the_whole_function_passes_and_prose_does_not() -> None:
    from lightning_lora.benchmark.scoring import evaluate

    samples = [{"task_id": "add", "completion": "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```"}]
    assert evaluate(FUNCTION_PROBLEMS, samples, timeout_s=5, workers=1)["summary"]["problems_passed"] == 1
    samples = [{"task_id": "add", "completion": "The function adds a and b."}]
    assert evaluate(FUNCTION_PROBLEMS, samples, timeout_s=5, workers=1)["summary"]["problems_passed"] == 0

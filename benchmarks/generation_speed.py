"""Batched vs one-at-a-time generation for the code benchmark, in fp32 and bf16.

    .venv/bin/python benchmarks/generation_speed.py [--model tiny:qwen2] [--problems 32] [--max_new_tokens 64]
        [--repeats 3] [--batch_sizes 1 4 16] [--dtypes float32 bfloat16]
    .venv/bin/python benchmarks/generation_speed.py --model smollm2 --problems humaneval --batch_sizes 1 16 32 64

``--model``: any model path or ``tiny:<arch>``, or ``smollm2``: the real SmolLM2-135M-Instruct when it has
been fetched (``python -m lightning_lora models fetch smollm2-135m-instruct``), else a random-init model of its
shape (Llama, 30 layers, hidden 576, vocab 49152) with the tiny tokenizer; its completions decode to
empty text (ids beyond the tokenizer), so its greedy-match line says nothing and its tokens are counted
as problems x max_new_tokens. ``--problems``: a number of
generated code problems, or ``humaneval`` (its 164 prompts). A random-init model never emits its
end-of-turn token, so every sample generates exactly max_new_tokens and every setting does the same work.
Reports the median of the repeats after a one-batch warm-up. The first dtype's greedy completions are the
reference: every other dtype reports how many of its completions are identical to them.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from lightning_lora.benchmark.runner import generate_samples
from lightning_lora.inference.prompting import build_prompt
from lightning_lora.models.loading import load_causal_lm, load_tokenizer
from lightning_lora.models.registry import is_fetched, model_dir
from lightning_lora.problems.sources import Problem, load_humaneval
from lightning_lora.problems.synthetic import benchmark_problems

SMOLLM2 = dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
               num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True, rope_theta=100000.0)


def resolve_model(name: str) -> tuple[str, str]:
    """The path to load and a description; ``smollm2`` is the fetched model or one of its shape built here."""
    if name != "smollm2":
        return name, name
    if is_fetched("smollm2-135m-instruct"):
        return "real:smollm2-135m-instruct", f"SmolLM2-135M-Instruct ({model_dir('smollm2-135m-instruct')})"
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(tempfile.mkdtemp(prefix="smollm2-shaped-"))
    tokenizer = load_tokenizer("tiny:llama")
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**SMOLLM2, eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id,
                                 pad_token_id=tokenizer.pad_token_id)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder), "SmolLM2-135M-shaped Llama, random init (the real model is not fetched)"


def load_problem_set(spec: str) -> list[Problem]:
    if spec == "humaneval":
        return list(load_humaneval().problems)
    return [Problem(task_id=p["task_id"], prompt=p["prompt"], tests=p["tests"])
            for p in benchmark_problems(num_problems=int(spec))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny:qwen2")
    parser.add_argument("--arch", default=None, help="shorthand for --model tiny:<arch>")
    parser.add_argument("--problems", default="32", help="a number of generated problems, or 'humaneval'")
    parser.add_argument("--max_new_tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    args = parser.parse_args()
    if args.problems != "humaneval" and not args.problems.isdigit():
        parser.error(f"--problems must be a number or 'humaneval', got {args.problems!r}")

    path, description = resolve_model(f"tiny:{args.arch}" if args.arch else args.model)
    shaped_only = "random init" in description
    tokenizer = load_tokenizer(path)
    problems = load_problem_set(args.problems)
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"model: {description}; {len(problems)} problems ({args.problems}), max_new_tokens={args.max_new_tokens}, "
          f"median of {args.repeats} after a one-batch warm-up")
    print("| dtype | batch size | seconds | problems/s | generated tokens/s | speed-up vs first row |")
    print("|---|---:|---:|---:|---:|---:|")
    baseline, reference = None, None
    for dtype in args.dtypes:
        model = load_causal_lm(path, dtype=dtype)
        completions = None

        def run(batch_size: int, subset: list[Problem] = problems, model: Any = model) -> tuple[float, int, list[str]]:
            start = time.perf_counter()
            samples = generate_samples(model, tokenizer, subset, build_prompt=lambda p: build_prompt(tokenizer, p),
                                       max_new_tokens=args.max_new_tokens, batch_size=batch_size, progress=False)
            elapsed = time.perf_counter() - start
            texts = [s["completion"] for s in samples]
            if shaped_only:  # ids beyond the tiny tokenizer's vocabulary decode to nothing; it never stops early
                return elapsed, len(subset) * args.max_new_tokens, texts
            return elapsed, sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts), texts

        for batch_size in args.batch_sizes:
            run(batch_size, problems[:batch_size])  # warm-up: one batch
            times, tokens, texts = zip(*(run(batch_size) for _ in range(args.repeats)))
            seconds = statistics.median(times)
            baseline = baseline or seconds
            completions = completions or texts[0]
            print(f"| {dtype} | {batch_size} | {seconds:.3f} | {len(problems) / seconds:.2f} | {tokens[0] / seconds:.0f} "
                  f"| {baseline / seconds:.2f}x |", flush=True)
        if reference is None:
            reference = (dtype, completions)
        else:
            same = sum(a == b for a, b in zip(reference[1], completions))
            print(f"greedy completions, {dtype} vs {reference[0]} (batch {args.batch_sizes[0]}): "
                  f"{same}/{len(completions)} identical{'' if same == len(completions) else ' (NOT all matching)'}")


if __name__ == "__main__":
    main()

"""Batched vs one-at-a-time generation for the code benchmark, on the tiny offline model.

    .venv/bin/python benchmarks/generation_speed.py [--arch qwen2] [--problems 32] [--max_new_tokens 64] [--repeats 3]

The random-init base model never emits its end-of-turn token, so every sample generates exactly
max_new_tokens and both settings do the same work. Reports the median of the repeats after one
warm-up run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from lightning_lora.backbone import load_causal_lm, load_tokenizer
from lightning_lora.benchmark.problems import Problem
from lightning_lora.benchmark.runner import generate_samples
from lightning_lora.data.synthetic import benchmark_problems
from lightning_lora.prompting import build_prompt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="qwen2")
    parser.add_argument("--problems", type=int, default=32)
    parser.add_argument("--max_new_tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()

    tokenizer = load_tokenizer(f"tiny:{args.arch}")
    model = load_causal_lm(f"tiny:{args.arch}")
    problems = [Problem(task_id=p["task_id"], prompt=p["prompt"], tests=p["tests"])
                for p in benchmark_problems(num_problems=args.problems)]

    def run(batch_size: int) -> tuple[float, int]:
        start = time.perf_counter()
        samples = generate_samples(model, tokenizer, problems, build_prompt=lambda p: build_prompt(tokenizer, p),
                                   max_new_tokens=args.max_new_tokens, batch_size=batch_size, progress=False)
        elapsed = time.perf_counter() - start
        tokens = sum(len(tokenizer(s["completion"], add_special_tokens=False)["input_ids"]) for s in samples)
        return elapsed, tokens

    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"model: tiny:{args.arch}, {args.problems} problems, max_new_tokens={args.max_new_tokens}, "
          f"median of {args.repeats} after a warm-up")
    print("| batch size | seconds | samples/s | generated tokens/s | speed-up vs batch 1 |")
    print("|---:|---:|---:|---:|---:|")
    baseline = None
    for batch_size in args.batch_sizes:
        run(batch_size)  # warm-up
        times, tokens = zip(*(run(batch_size) for _ in range(args.repeats)))
        seconds = statistics.median(times)
        baseline = baseline or seconds
        print(f"| {batch_size} | {seconds:.3f} | {args.problems / seconds:.1f} | {tokens[0] / seconds:.0f} | "
              f"{baseline / seconds:.2f}x |")


if __name__ == "__main__":
    main()

"""llama.cpp against the project's own generation, on a LoRA checkpoint of a fetched real model (Qwen2.5-Coder-0.5B).

    .venv/bin/python benchmarks/llamacpp_check.py --ckpt_path checkpoints/<run>/best [--humaneval]
        [--batch_size 16] [--max_new_tokens 512] [--single 8] [--output results.json]

Needs llama-cpp-python (``pip install llama-cpp-python``) and the fetched base (``python -m lightning_lora models fetch
qwen2.5-coder-0.5b-instruct``). The checkpoint is restored as ``generate`` restores it (its config.yaml beside it).
Two ways into llama.cpp, both written by the ``llamacpp`` engine's code
(:mod:`lightning_lora.inference.llamacpp_engine`): (a) the merged model as one GGUF (``export --format gguf``: f16 for
a bf16 model), (b) the base's release GGUF (the official Q4_K_M file its bf16 weights were de-quantized from) plus the
adapter as a GGUF adapter (``export --format gguf-lora``): (b) is what ``--engine llamacpp`` runs for this checkpoint.

1. Greedy tokens: the first ``--tokens`` (32) tokens of 20 fixed coding requests in the run's prompt format, from the
   project (transformers' ``generate``, one prompt at a time: no padding) and from (a) and (b), decoded together at
   ``--batch_size``. Per variant: the prompts whose tokens (up to an end of sequence) are all the project's, and the
   tokens that agree before each prompt's first difference.
2. ``--humaneval``: pass@1 on HumanEval's 164 problems through the benchmark's own code (``run_benchmark``: the
   model's default protocol, the run's system prompt, greedy, ``--max_new_tokens``) with engine ``generate`` and engine
   ``llamacpp``, both at ``--batch_size``, and each engine's generated tokens per second (writing and loading the GGUF
   files is timed apart, before).

3. ``--single N``: one request at a time (batch 1, as ``generate``, ``chat`` and a server with one user run): the
   first N HumanEval prompts in a chat prompt, ``--single_tokens`` (64) new tokens each, with engine ``generate`` and
   engine ``llamacpp`` (each warmed up on one prompt first); generated tokens per second.

Prints a markdown table for ``benchmarks/RESULTS.md``; ``--output`` also writes every figure and answer as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from lightning_lora.benchmark.runner import run_benchmark
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.inference.generation import GenerationOptions, eos_token_ids, generate_answers, generation_config
from lightning_lora.inference.llamacpp_engine import (
    adapter_files,
    files_folder,
    llama_cpp_module,
    loaded,
    merged_file,
    weights_dtype,
)
from lightning_lora.problems.sources import load_problems
from lightning_lora.training.restore import restore

REQUESTS = [
    "Write a Python function that returns the sum of a list of integers.",
    "Write a Python function that reverses a string.",
    "Write a Python function that checks whether a number is prime.",
    "Read two integers from one line and print their sum.",
    "Write a Python function that returns the n-th Fibonacci number.",
    "Write a Python function that counts the vowels in a string.",
    "Read n and print n squared.",
    "Write a Python function that removes duplicates from a list, keeping the order.",
    "Write a Python function that returns the largest of three numbers.",
    "Write a Python function that checks whether a string is a palindrome.",
    "Read a line of text and print it in upper case.",
    "Write a Python function that merges two sorted lists into one sorted list.",
    "Write a Python function that returns the factorial of n.",
    "Read a list of integers from one line and print the maximum.",
    "Write a Python function that counts how often each word occurs in a text.",
    "Write a Python function that converts a temperature from Celsius to Fahrenheit.",
    "Write a Python function that flattens a list of lists.",
    "Read an integer n and print the numbers from 1 to n, one per line.",
    "Write a Python function that returns the greatest common divisor of two integers.",
    "Write a Python function that checks whether two strings are anagrams.",
]


def agreement(variant: list[list[int]], reference: list[list[int]]) -> dict[str, int]:
    """Prompts answered with exactly the reference's tokens, and tokens equal before each prompt's first difference."""
    prefix = [len(os.path.commonprefix([v, r])) for v, r in zip(variant, reference)]
    return {"prompts": sum(v == r for v, r in zip(variant, reference)), "of_prompts": len(reference),
            "tokens": sum(prefix), "of_tokens": sum(len(r) for r in reference)}


@torch.inference_mode()
def project_tokens(model, tokenizer, prompts: list[list[int]], tokens: int) -> list[list[int]]:
    """The project's greedy tokens, one prompt at a time (no padding), up to and including an end of sequence."""
    config = generation_config(model, tokenizer, GenerationOptions(max_new_tokens=tokens))
    answers = []
    for ids in prompts:
        input_ids = torch.tensor([ids])
        out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), generation_config=config)
        answers.append(out[0, len(ids):].tolist())
    return answers


def humaneval(model, tokenizer, engine: str, settings: BenchmarkSettings) -> dict:
    """pass@1, problems passed, generation seconds and generated tokens per second of one engine, and its answers."""
    samples, results = run_benchmark(model, tokenizer, load_problems("humaneval"), settings.replace(engine=engine))
    summary, generation = results["summary"], results["summary"]["generation"]
    answers = [s["completion"][len(generation["prefill"]):] for s in samples]
    tokens = sum(len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers)
    seconds = generation["generation_time_s"]
    return {"pass@1": summary["pass@k"]["pass@1"], "passed": summary["problems_passed"], "problems": len(samples),
            "seconds": seconds,
            "tokens": tokens, "tokens_per_s": round(tokens / seconds, 1), "answers": answers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--ckpt_path", required=True, help="a LoRA checkpoint of a fetched real model")
    parser.add_argument("--tokens", type=int, default=32, help="greedy tokens compared per prompt")
    parser.add_argument("--batch_size", type=int, default=16, help="sequences llama.cpp (and generate) decode together")
    parser.add_argument("--humaneval", action="store_true", help="also HumanEval pass@1 and tokens/s per engine")
    parser.add_argument("--max_new_tokens", type=int, default=512, help="HumanEval answer budget")
    parser.add_argument("--single", type=int, default=0, help="also time this many requests one at a time")
    parser.add_argument("--single_tokens", type=int, default=64, help="new tokens per request with --single")
    parser.add_argument("--output", default=None, help="write every figure and answer as JSON here")
    args = parser.parse_args()

    llama_cpp = llama_cpp_module()
    restored = restore(args.ckpt_path, command="generate", text_model=True)
    model, tokenizer = restored.model, restored.tokenizer
    threads, float32 = torch.get_num_threads(), weights_dtype(model) == torch.float32
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {threads} threads, torch "
          f"{torch.__version__}, llama-cpp-python {llama_cpp.__version__}; {restored.source}, "
          f"{weights_dtype(model)}", flush=True)

    start = time.perf_counter()
    adapter = adapter_files(model, files_folder())
    if adapter is None:
        parser.error(f"{args.ckpt_path} is not a LoRA on a fetched real model (no release GGUF to put the adapter on)")
    merged = merged_file(model, tokenizer, files_folder())
    print(f"GGUF files written in {time.perf_counter() - start:.1f} s: (a) {merged.model.name}, (b) {adapter.model} "
          f"+ {adapter.adapter.name}", flush=True)

    prompts = [tokenizer(restored.prompt.render(tokenizer, r), add_special_tokens=False)["input_ids"] for r in REQUESTS]
    eos = eos_token_ids(model, tokenizer)
    reference = project_tokens(model, tokenizer, prompts, args.tokens)
    variants = {}
    for name, files in (("merged", merged), ("base+adapter", adapter)):
        engine = loaded(files, threads, float32)
        variants[name] = engine.generate(prompts, [args.tokens] * len(prompts), tokenizer=tokenizer, eos_ids=eos,
                                         batch_size=args.batch_size)
    figures = {name: agreement(ids, reference) for name, ids in variants.items()}
    figures["base+adapter vs merged"] = agreement(variants["base+adapter"], variants["merged"])
    for name, found in figures.items():
        print(f"{name}: {found['prompts']}/{found['of_prompts']} prompts identical, {found['tokens']}/"
              f"{found['of_tokens']} tokens agree before the first difference", flush=True)

    runs = {}
    if args.humaneval:
        settings = BenchmarkSettings(problems="humaneval", batch_size=args.batch_size,
                                     max_new_tokens=args.max_new_tokens, system_prompt=restored.prompt.system_prompt)
        start = time.perf_counter()  # the engine's files and model, before its generation is timed
        generate_answers(model, tokenizer, [restored.prompt.render(tokenizer, REQUESTS[0])],
                         GenerationOptions(max_new_tokens=1), progress=False, engine="llamacpp")
        setup = time.perf_counter() - start
        for engine in ("generate", "llamacpp"):
            runs[engine] = humaneval(model, tokenizer, engine, settings)
            run = runs[engine]
            print(f"{engine}: pass@1 {run['pass@1']:.4f} ({run['passed']}/{run['problems']}), {run['seconds']:.1f} s, "
                  f"{run['tokens_per_s']} tokens/s", flush=True)
        same = sum(a == b for a, b in zip(runs["generate"]["answers"], runs["llamacpp"]["answers"]))
        print(f"llamacpp: {same}/{len(runs['generate']['answers'])} answers identical to generate's; the warm-up call "
              f"before timing (files written and loaded unless the check above did) took {setup:.1f} s")

    single = {}
    if args.single:
        texts = [restored.prompt.render(tokenizer, "Complete this function:\n" + p.prompt)
                 for p in load_problems("humaneval").problems[:args.single]]
        options = GenerationOptions(max_new_tokens=args.single_tokens)
        for engine in ("generate", "llamacpp"):
            generate_answers(model, tokenizer, texts[:1], GenerationOptions(max_new_tokens=2), batch_size=1,
                             progress=False, engine=engine)
            start = time.perf_counter()
            answers = generate_answers(model, tokenizer, texts, options, batch_size=1, progress=False, engine=engine)
            seconds = time.perf_counter() - start
            tokens = sum(len(tokenizer(a.text, add_special_tokens=False)["input_ids"]) for a in answers)
            single[engine] = {"seconds": round(seconds, 2), "tokens": tokens, "tokens_per_s": round(tokens / seconds, 1)}
            print(f"{engine}, one request at a time: {tokens} tokens in {seconds:.1f} s, "
                  f"{single[engine]['tokens_per_s']} tokens/s", flush=True)

    def speeds(label: str, gen: dict, cpp: dict) -> str:
        """A table row: each engine's generated tokens/s (and seconds)."""
        return (f"| {label} | {gen['tokens_per_s']} ({gen['seconds']:.0f} s) | - | {cpp['tokens_per_s']} "
                f"({cpp['seconds']:.0f} s) |")

    def share(found: dict[str, int]) -> str:
        return (f"{found['prompts']}/{found['of_prompts']} prompts, {found['tokens']}/{found['of_tokens']} tokens "
                f"({found['tokens'] / max(1, found['of_tokens']):.1%})")

    print(f"\n| {restored.source} | project (transformers) | llama.cpp (a) merged GGUF | llama.cpp (b) release GGUF "
          "+ adapter GGUF |\n|---|---|---|---|")
    print(f"| first {args.tokens} greedy tokens as the project's, 20 prompts | - | {share(figures['merged'])} | "
          f"{share(figures['base+adapter'])} |")
    print(f"| (b) against (a) | - | - | {share(figures['base+adapter vs merged'])} |")
    if runs:
        gen, cpp = runs["generate"], runs["llamacpp"]
        print(f"| HumanEval pass@1, greedy, {args.max_new_tokens} tokens | {gen['pass@1']:.4f} ({gen['passed']}/"
              f"{gen['problems']}) | - | {cpp['pass@1']:.4f} ({cpp['passed']}/{cpp['problems']}) |")
        print(speeds(f"generated tokens/s at batch {args.batch_size} ({threads} threads)", gen, cpp))
        print(f"| HumanEval answers identical to the project's | - | - | {same}/{gen['problems']} |")
    if single:
        print(speeds(f"generated tokens/s one request at a time ({args.single} requests, {args.single_tokens} "
                     "tokens)", single["generate"], single["llamacpp"]))
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"args": vars(args), "source": restored.source, "agreement": figures,
                       "tokens": {"project": reference, **variants}, "humaneval": runs, "single": single}, f,
                      indent=1)


if __name__ == "__main__":
    main()

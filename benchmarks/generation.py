"""Generation engines side by side on HumanEval prompts: transformers' ``generate`` per batch vs ``refill``.

    .venv/bin/python benchmarks/generation.py [--model real:qwen2.5-coder-0.5b-instruct] [--dtype bfloat16]
        [--problems 164] [--batch_size 16] [--max_new_tokens 512] [--engines generate refill refill:0]
        [--score] [--output results.json]

``refill:N`` is the refill engine verifying up to N prompt-lookup draft tokens per pass (``refill`` alone: the
default, ``DEFAULT_DRAFT_TOKENS``; ``refill:0``: one token per pass).

The GPU check of the ``vllm`` engine (issue 24), on a CUDA machine with ``pip install vllm``, the model a folder
(a ``real:`` model is one once fetched; a fine-tuned checkpoint after ``export --merge``)::

    python benchmarks/generation.py --device cuda --engines generate vllm --score --output vllm_check.json

Both engines get the same rendered prompts (the benchmark's default for the model: the EvalPlus instruct protocol
with a chat template), the same batch size, dtype, stop strings and budget, greedy. Printed per engine: wall time,
generated tokens (up to each answer's end, stop strings included) per second, answers cut at the budget; then how
many answers are identical to the first engine's, and the first differing ones; with ``--score``, each engine's
answers run in the sandbox on HumanEval's tests (pass@1, problems passed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from lightning_lora.benchmark.runner import _prompt_builder, default_stop, prompt_style_for
from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.inference.generation import DEFAULT_DRAFT_TOKENS, GenerationOptions, generate_answers
from lightning_lora.models.loading import load_causal_lm, load_tokenizer
from lightning_lora.problems.sources import load_problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--model", default="real:qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    parser.add_argument("--problems", type=int, default=164, help="the first this many HumanEval problems")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--max_new_tokens", type=int, default=512)
    parser.add_argument("--engines", nargs="+", default=["generate", "refill"],
                        help="generate, refill, refill:N (N draft tokens per pass), vllm, llamacpp")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="cuda for the GPU engines' check")
    parser.add_argument("--score", action="store_true", help="run each engine's answers on the tests: pass@1")
    parser.add_argument("--output", default=None, help="write the figures and every answer as JSON here")
    args = parser.parse_args()

    tokenizer = load_tokenizer(args.model)
    if args.device != "cpu" and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: this machine has no CUDA device (run the GPU check on one).")
    model = load_causal_lm(args.model, dtype=args.dtype).eval().to(args.device)
    problems = load_problems("humaneval").problems[: args.problems]
    style = prompt_style_for(tokenizer, "function", "auto")
    build, prefill = _prompt_builder(tokenizer, "function", style, BenchmarkSettings())
    prompts = [build(p.prompt) for p in problems]
    options = GenerationOptions(max_new_tokens=args.max_new_tokens, stop=default_stop("function", style))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {args.model} in {args.dtype}; {len(prompts)} prompts ({style}), "
          f"batch {args.batch_size}, up to {args.max_new_tokens} new tokens, greedy", flush=True)
    runs = {}
    for engine in args.engines:
        name, _, drafts = engine.partition(":")
        start = time.perf_counter()
        answers = generate_answers(model, tokenizer, prompts, options, batch_size=args.batch_size, progress=True,
                                   desc=engine, engine=name,
                                   draft_tokens=int(drafts) if drafts else DEFAULT_DRAFT_TOKENS)
        seconds = time.perf_counter() - start
        tokens = sum(len(tokenizer(a.text, add_special_tokens=False)["input_ids"]) for a in answers)
        runs[engine] = {"seconds": round(seconds, 1), "tokens": tokens, "tokens_per_s": round(tokens / seconds, 1),
                        "cut": sum(a.truncated for a in answers),
                        "answers": [{"task_id": p.task_id, "text": a.text, "finish_reason": a.finish_reason}
                                    for p, a in zip(problems, answers)]}
        print(f"{engine}: {seconds:.1f} s, {tokens} answer tokens, {tokens / seconds:.1f} tokens/s, "
              f"{runs[engine]['cut']} cut at the budget", flush=True)
        if args.score:
            samples = [{"task_id": p.task_id, "completion": prefill + a.text} for p, a in zip(problems, answers)]
            scored = evaluate(problems, samples, progress=False)
            summary = scored["summary"]
            runs[engine]["passed"] = summary["problems_passed"]
            passed = {r["task_id"]: bool(r["passed"]) for r in scored["problems"]}
            for answer in runs[engine]["answers"]:
                answer["passed"] = passed.get(answer["task_id"], False)
            print(f"{engine}: pass@1 {summary['pass@k']['pass@1']:.4f} ({summary['problems_passed']}/{len(samples)} "
                  "problems passed)", flush=True)
    first, *others = args.engines
    for other in others:
        a, b = runs[first]["answers"], runs[other]["answers"]
        differing = [(x["task_id"], x["text"], y["text"]) for x, y in zip(a, b) if x["text"] != y["text"]]
        ratio = runs[first]["seconds"] / runs[other]["seconds"]
        print(f"{other}: {len(a) - len(differing)}/{len(a)} answers identical to {first}'s; {ratio:.2f}x as fast")
        for task_id, x, y in differing[:3]:
            cut = len(os.path.commonprefix([x, y]))
            print(f"  {task_id} differs after {cut} characters: {x[cut:cut + 60]!r} vs {y[cut:cut + 60]!r}")
        if args.score:
            flips = [(x["task_id"], y["passed"]) for x, y in zip(a, b) if x["passed"] != y["passed"]]
            print(f"{other}: passes where {first} fails: {[t for t, won in flips if won]}; fails where {first} "
                  f"passes: {[t for t, won in flips if not won]}")
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"args": vars(args), "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()

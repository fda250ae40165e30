"""``teach``: teacher data by rejection sampling on the problem bank's training families.

    python -m lightning_lora teach --model real:qwen2.5-coder-1.5b-instruct --problems_per_family 8 \\
        --n 8 --temperature 0.8 --top_p 0.95 --output data/study/teacher.jsonl

Each training problem (the bank's families that are not held out) is answered ``--n`` times; each answer's
program runs in the sandbox on every test of its problem and only those that pass are written to ``--output``
(rows the code data module reads: ``input``, ``solution``, ``output``, with ``problem_id``, ``family``,
``teacher``, ``sampling``, ``sample_index``, ``verdict``). Per-problem counts go to
``<output stem>.problems.jsonl``; a stopped run started again with the same command goes on where it stopped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jsonargparse import ArgumentParser

from lightning_lora.data.teacher import TEACHER_SYSTEM_PROMPT, SamplingSettings, sample_teacher_data
from lightning_lora.errors import UserError, parse_command_line
from lightning_lora.models.loading import load_causal_lm, load_tokenizer
from lightning_lora.problems.bank import families
from lightning_lora.problems.bank.split import HELDOUT, training_problems


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="lightning_lora teach", exit_on_error=False, description=__doc__.strip().splitlines()[0])
    p.add_argument("--model", type=str, required=True, help="the teacher: hub id, model folder, real:NAME or tiny:ARCH")
    p.add_argument("--dtype", type=str, default="bfloat16", help="the teacher's weights: bfloat16 or float32")
    p.add_argument("--output", type=str, required=True, help="jsonl of kept answers (appended to when resuming)")
    p.add_argument("--problems_per_family", type=int, default=8, help="training problems drawn from each family")
    p.add_argument("--families", type=list[str] | None, default=None,
                   help="only these training families (default: every family that is not held out)")
    p.add_argument("--problem_seed", type=int, default=0, help="seed the training problems are drawn with")
    p.add_argument("--n", type=int, default=8, help="answers sampled per problem")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top_p", type=float, default=0.95)
    p.add_argument("--max_new_tokens", type=int, default=512)
    p.add_argument("--batch_size", type=int, default=32, help="answers generated together")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (each chunk of problems derives its own)")
    p.add_argument("--engine", type=str, default="refill",
                   help="generation engine: refill (shared prefill), generate or llamacpp (llama.cpp on the CPU, "
                        "pip install llama-cpp-python)")
    p.add_argument("--problems_per_chunk", type=int, default=4, help="problems generated and recorded together")
    p.add_argument("--timeout_s", type=float, default=10.0, help="time limit of one test run")
    p.add_argument("--system_prompt", type=str, default=TEACHER_SYSTEM_PROMPT)
    return p


def main(argv: list[str]) -> int:
    """``python -m lightning_lora teach ...``; see the module docstring."""
    args = parse_command_line(build_parser(), argv[1:], "teach")
    settings = SamplingSettings(n=args.n, temperature=args.temperature, top_p=args.top_p,
                                max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, seed=args.seed,
                                engine=args.engine, problems_per_chunk=args.problems_per_chunk,
                                timeout_s=args.timeout_s, system_prompt=args.system_prompt)
    try:
        settings.check()
    except ValueError as err:
        raise UserError(f"teach: {err}") from None
    if args.problems_per_family < 1:
        raise UserError(f"teach: --problems_per_family must be at least 1, got {args.problems_per_family}")
    bank = families()
    if args.families is not None:
        unknown = [f for f in args.families if f not in bank]
        held = [f for f in args.families if f in HELDOUT]
        if unknown or held:
            raise UserError(f"teach: --families names {'unknown families ' + str(unknown) if unknown else ''}"
                            f"{' and ' if unknown and held else ''}"
                            f"{'held-out families ' + str(held) + ' (never trained on)' if held else ''}")
        bank = {name: f for name, f in bank.items() if name in args.families}
    problems = training_problems(bank, args.problems_per_family, seed=args.problem_seed)
    tokenizer = load_tokenizer(args.model)
    model = load_causal_lm(args.model, dtype=args.dtype).eval()
    print(f"teach: {args.model} ({args.dtype}) on {len(problems)} problems of {len(problems) // args.problems_per_family}"
          f" families, {args.n} answers each", file=sys.stderr)
    summary = sample_teacher_data(model, tokenizer, problems, Path(args.output), teacher=args.model,
                                  settings=settings)
    summary.update(teacher=args.model, dtype=args.dtype, problems_per_family=args.problems_per_family,
                   problem_seed=args.problem_seed)
    print(json.dumps(summary))
    return 0

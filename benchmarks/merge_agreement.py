"""How often a merged LoRA model answers (greedy) exactly as its checkpoint: bf16 merge, float32 merge, batch 1.

    .venv/bin/python benchmarks/merge_agreement.py --ckpt_path checkpoints/<run>/last.ckpt [--prompts 8]
        [--max_new_tokens 64]

The checkpoint is restored as ``generate`` restores it (its config.yaml beside it). Prompts are the first HumanEval
functions in a chat prompt with the run's system prompt. Printed per variant: answers identical to the checkpoint's,
and the mean share of each answer that matches the checkpoint's from the start.
"""

from __future__ import annotations

import argparse
import copy
import os

import torch

from lightning_lora.inference.generation import GenerationOptions, generate_batch
from lightning_lora.inference.prompting import build_prompt
from lightning_lora.problems.sources import load_problems
from lightning_lora.training.restore import restore


def agreement(answers: list[str], reference: list[str]) -> str:
    """``k/n identical, mean common prefix p`` of ``answers`` against ``reference``."""
    same = sum(a == r for a, r in zip(answers, reference))
    prefix = [len(os.path.commonprefix([a, r])) / max(1, len(r)) for a, r in zip(answers, reference)]
    return f"{same}/{len(reference)} identical, mean common prefix {sum(prefix) / len(prefix):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--ckpt_path", required=True)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--max_new_tokens", type=int, default=64)
    args = parser.parse_args()
    restored = restore(args.ckpt_path, command="generate")
    tokenizer, model = restored.tokenizer, restored.model
    problems = load_problems("humaneval").problems[: args.prompts]
    prompts = [build_prompt(tokenizer, f"Complete:\n```python\n{p.prompt}\n```", restored.prompt.system_prompt)
               for p in problems]
    options = GenerationOptions(max_new_tokens=args.max_new_tokens)
    batch = len(prompts)
    reference = generate_batch(model, tokenizer, prompts, options, batch_size=batch, progress=False)
    merged = copy.deepcopy(model).merge_and_unload()  # in the base's dtype: what export --merge writes
    print(f"merged ({next(merged.parameters()).dtype}):",
          agreement(generate_batch(merged, tokenizer, prompts, options, batch_size=batch, progress=False), reference))
    del merged
    merged = copy.deepcopy(model).to(torch.float32).merge_and_unload()
    print("merged (torch.float32, run in float32):",
          agreement(generate_batch(merged, tokenizer, prompts, options, batch_size=batch, progress=False), reference))
    del merged
    print("checkpoint at batch 1:",
          agreement(generate_batch(model, tokenizer, prompts, options, batch_size=1, progress=False), reference))


if __name__ == "__main__":
    main()

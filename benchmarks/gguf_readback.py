"""Does ``export --format gguf`` hold the model? Greedy answers of the GGUF files, read back by transformers, against
the merged export's, on a real checkpoint.

    .venv/bin/python benchmarks/gguf_readback.py --ckpt_path checkpoints/<run>/best [--types f16 q8_0]
        [--tokens 32] [--workdir DIR]

Runs the commands a user runs (``python -m lightning_lora export``): the merged folder (``--merge``) and one GGUF file
per ``--types`` entry. Then, in this process: the merged folder and each GGUF file (``from_pretrained(folder,
gguf_file=...)``, in the merged folder's dtype) answer the 20 requests of ``benchmarks/llamacpp_check.py`` in the run's
prompt format, greedy, ``--tokens`` new tokens, one prompt at a time. Also checked per file: the tokenizer read from
the GGUF file gives the prompt ids the merged folder's tokenizer gives, and the chat template is the same text.
Prints per file: prompts answered with exactly the merged folder's tokens, tokens equal before each prompt's first
difference, and how far its weights are from the merged folder's (largest absolute difference over all matrices).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from llamacpp_check import REQUESTS, agreement
from transformers import AutoModelForCausalLM, AutoTokenizer

from lightning_lora.training.restore import restore


def export(*args: str) -> float:
    """Run ``python -m lightning_lora export ARGS``; its seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lightning_lora", "export", *args], check=True)
    return time.perf_counter() - start


@torch.inference_mode()
def greedy(model, prompts: list[list[int]], tokens: int, eos: list[int]) -> list[list[int]]:
    """Greedy new tokens of each prompt, one at a time (no padding), up to and including an end of sequence."""
    answers = []
    for ids in prompts:
        input_ids = torch.tensor([ids])
        out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=tokens,
                             do_sample=False, eos_token_id=eos, pad_token_id=eos[0])
        answers.append(out[0, len(ids):].tolist())
    return answers


def largest_difference(model, reference) -> float:
    """The largest absolute difference between two models' parameters of the same name."""
    theirs = dict(reference.named_parameters())
    return max((p.float() - theirs[n].float()).abs().max().item() for n, p in model.named_parameters() if n in theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--ckpt_path", required=True)
    parser.add_argument("--types", nargs="+", default=["f16", "q8_0"], help="--gguf_type values to export and check")
    parser.add_argument("--tokens", type=int, default=32, help="greedy tokens compared per prompt")
    parser.add_argument("--workdir", default=None, help="where the exports go (default: a temporary folder)")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="gguf-readback-"))
    workdir.mkdir(parents=True, exist_ok=True)

    merged_dir = workdir / "merged"
    seconds = {"merged": export("--ckpt_path", args.ckpt_path, "--output", str(merged_dir), "--merge", "--overwrite")}
    for gguf_type in args.types:
        seconds[gguf_type] = export("--ckpt_path", args.ckpt_path, "--output", str(workdir / f"model-{gguf_type}.gguf"),
                                    "--format", "gguf", "--gguf_type", gguf_type, "--overwrite")

    restored = restore(args.ckpt_path, command="generate", text_model=True)
    texts = [restored.prompt.render(restored.tokenizer, r) for r in REQUESTS]
    del restored
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
    dtype = merged.dtype
    eos = [merged.generation_config.eos_token_id] if isinstance(merged.generation_config.eos_token_id, int) \
        else list(merged.generation_config.eos_token_id)
    prompts = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    print(f"{os.cpu_count()} cores, torch {torch.__version__}; {args.ckpt_path}: merged folder in {dtype}; export "
          f"seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()), flush=True)
    reference = greedy(merged, prompts, args.tokens, eos)

    rows = []
    for gguf_type in args.types:
        name = f"model-{gguf_type}.gguf"
        size = (workdir / name).stat().st_size
        gguf_tokenizer = AutoTokenizer.from_pretrained(workdir, gguf_file=name)
        same_ids = sum(gguf_tokenizer(t, add_special_tokens=False)["input_ids"] == p for t, p in zip(texts, prompts))
        same_template = gguf_tokenizer.chat_template == tokenizer.chat_template
        model = AutoModelForCausalLM.from_pretrained(workdir, gguf_file=name, dtype=dtype).eval()
        difference = largest_difference(model, merged)
        found = agreement(greedy(model, prompts, args.tokens, eos), reference)
        del model
        rows.append((gguf_type, size, same_ids, same_template, difference, found))
        print(f"{gguf_type}: {found['prompts']}/{found['of_prompts']} prompts identical, {found['tokens']}/"
              f"{found['of_tokens']} tokens agree before the first difference; prompt ids {same_ids}/{len(texts)}, "
              f"chat template {'same' if same_template else 'DIFFERENT'}, largest weight difference {difference:.3g}",
              flush=True)

    print(f"\n| GGUF file ({args.ckpt_path}) | bytes | export s | first {args.tokens} greedy tokens as the merged "
          "folder's, 20 prompts | tokenizer: same prompt ids | chat template | largest weight difference |\n"
          "|---|---|---|---|---|---|---|")
    for gguf_type, size, same_ids, same_template, difference, found in rows:
        print(f"| {gguf_type} | {size:,} | {seconds[gguf_type]:.0f} | {found['prompts']}/{found['of_prompts']} "
              f"prompts, {found['tokens']}/{found['of_tokens']} tokens | {same_ids}/{len(texts)} | "
              f"{'same' if same_template else 'different'} | {difference:.3g} |")


if __name__ == "__main__":
    main()

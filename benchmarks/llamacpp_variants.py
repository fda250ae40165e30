"""llama.cpp's batched decoding speed on given GGUF files, with its extra CPU buffer types (AMX, repacked layouts) on
or off: which file and setting is fastest on this CPU.

    .venv/bin/python benchmarks/llamacpp_variants.py MODEL.gguf [--adapter ADAPTER.gguf] [--extra_bufts on|off]
        [--prompts 16] [--tokens 64]

The first ``--prompts`` HumanEval prompts in Qwen2.5-Coder-0.5B-Instruct's chat template (the fetched model's
tokenizer), decoded together (batch = prompts) for ``--tokens`` new tokens each by the llamacpp engine's
:class:`~lightning_lora.inference.llamacpp_engine.LlamaCppModel`, greedy; prints generated tokens per second (prefill
included) and the start of the first answer. With ``--extra_bufts on`` on a llama.cpp built with AMX the official
Q4_K_M file crashes (llama.cpp issue 20824): run one setting per process.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer

from lightning_lora.inference import llamacpp_engine
from lightning_lora.models import fetch
from lightning_lora.problems.sources import load_problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--adapter", type=Path, default=None)
    parser.add_argument("--extra_bufts", choices=["on", "off"], default="off")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(fetch.models_dir() / "qwen2.5-coder-0.5b-instruct")
    llamacpp_engine.llama_cpp_module()
    llamacpp_engine.amx_build = lambda lib: args.extra_bufts == "off"  # the engine turns them off where this is True
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": "Complete:\n" + p.prompt}], tokenize=False,
                                           add_generation_prompt=True)
             for p in load_problems("humaneval").problems[:args.prompts]]
    prompts = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    model = llamacpp_engine.LlamaCppModel(llamacpp_engine.GGUFFiles(args.model, args.adapter),
                                          threads=torch.get_num_threads(), float32=False)
    start = time.perf_counter()
    answers = model.generate(prompts, [args.tokens] * len(prompts), tokenizer=tokenizer,
                             eos_ids=[tokenizer.eos_token_id], batch_size=len(prompts))
    seconds = time.perf_counter() - start
    tokens = sum(len(a) for a in answers)
    print(f"{args.model.name}{' + ' + args.adapter.name if args.adapter else ''}, extra buffer types "
          f"{args.extra_bufts}: {tokens} tokens in {seconds:.1f} s = {tokens / seconds:.1f} tokens/s "
          f"({sum(map(len, prompts))} prompt tokens); first answer starts {tokenizer.decode(answers[0][:20])!r}")
    model.close()


if __name__ == "__main__":
    main()

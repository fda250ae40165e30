"""Does ``torch.compile`` make bf16 LoRA training faster on this CPU? Per-step time, eager vs compiled.

    .venv/bin/python benchmarks/compile_bf16.py [--modes fp32 bf16 bf16-compiled] [--threads 1] [--steps 5]

A SmolLM2-135M-shaped Llama (random init: 30 layers, hidden 576, 9 / 3 heads, vocab 49152, tied, SDPA) with
plain PEFT LoRA at the seed study's settings (r 16, alpha 32, dropout 0.1, all 7 projections, fp32 adapters
and AdamW), one batch of 4 x 232 random tokens (the throughput benchmark's median sample), full logits and
an fp32 cross-entropy. Modes: ``fp32``; ``bf16``: bf16 frozen weights under CPU bf16 autocast;
``bf16-compiled``: the same with the transformer body compiled in place (inductor, static shapes).
Each mode runs in its own process: two untimed steps (the compile happens there, its time is printed),
then ``--steps`` timed steps, median reported. This isolates the compiler's effect on the model and PEFT;
lightning_lora's own bf16 path (fast dropout, no adapter casts, chunked head + loss) is measured by
``throughput.py``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from throughput import LORA, MODELS, TARGETS  # the throughput benchmark's smollm2 model and LoRA settings

MODES = ("fp32", "bf16", "bf16-compiled")
BATCH, LENGTH = 4, 232


def run(mode: str, threads: int, steps: int) -> None:
    """Time ``steps`` training steps in ``mode`` in this process and print one line."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    spec = MODELS["smollm2"]
    config = LlamaConfig(**spec["config"], attn_implementation="sdpa")
    bf16 = mode != "fp32"
    model = LlamaForCausalLM(config)
    if bf16:
        model = model.to(torch.bfloat16)
    model = get_peft_model(model, LoraConfig(**LORA, lora_dropout=spec["lora_dropout"], target_modules=TARGETS))
    trainable = [p for p in model.parameters() if p.requires_grad]
    for parameter in trainable:
        parameter.data = parameter.data.float()
    body, head = model.base_model.model.model, model.base_model.model.lm_head
    if mode == "bf16-compiled":
        body.compile(dynamic=False)
    optimizer = torch.optim.AdamW(trainable, lr=1e-3)
    ids = torch.randint(10, 40000, (BATCH, LENGTH), generator=torch.Generator().manual_seed(0))

    def step() -> float:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = head(body(input_ids=ids).last_hidden_state[:, :-1]).float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    start = time.perf_counter()
    step(), step()
    warm_up = time.perf_counter() - start
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    tokens = BATCH * (LENGTH - 1)
    print(f"| {mode} | {threads} | {warm_up:.1f} | {median:.2f} | {min(times):.2f} | {tokens / median:.0f} | {loss:.3f} |",
          flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run(args.worker, args.threads, args.steps)
        return
    print("| mode | threads | 2 warm-up steps (s, compile included) | s/step median | min | tokens/s | last loss |")
    print("|---|---:|---:|---:|---:|---:|---:|", flush=True)
    for mode in args.modes:
        subprocess.run([sys.executable, __file__, "--worker", mode, "--threads", str(args.threads),
                        "--steps", str(args.steps)], check=True, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()

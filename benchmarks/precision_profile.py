"""Where a LoRA training step's time goes, per precision setting, on a SmolLM2-135M-shaped model.

    .venv/bin/python benchmarks/precision_profile.py [--layers 30] [--batch 4 256] [--steps 3] [--dropout 0.1]

Builds a random-init Llama of SmolLM2-135M's shape (hidden 576, MLP 1536, 9 / 3 heads, vocab 49152, tied
embeddings; ``--layers`` of them), applies the seed study's LoRA (r 16, alpha 32, all 7 projections)
through :class:`~lightning_lora.modules.causal_lm.CausalLMModule`, and times its training loss, backward
and AdamW step on one random batch (the last quarter of each row are targets) in four settings:

- ``fp32``: fp32 weights, no autocast;
- ``bf16-mixed``: fp32 weights under bf16 autocast (``trainer.precision: bf16-mixed`` alone);
- ``bf16 base``: bf16 frozen weights, fp32 adapters, no autocast (``model.dtype: bfloat16`` alone);
- ``bf16 base + bf16-mixed``: both (the shipped real-model configs' setting).

Prints the median seconds per step and, from one profiled step (torch.profiler, self CPU time), the
share of matmuls, attention, casts, dropout, the LM-head loss, the optimizer and the rest.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import nullcontext
from typing import Any

import torch

SETTINGS = {"fp32": ("float32", False), "bf16-mixed": ("float32", True), "bf16 base": ("bfloat16", False),
            "bf16 base + bf16-mixed": ("bfloat16", True)}
CATEGORIES = {  # first match wins; names are aten ops (self time)
    "matmul": ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear", "aten::matmul"),
    "attention": ("scaled_dot_product", "flash_attention"),
    "casts": ("aten::copy_", "aten::to", "aten::_to_copy"),
    "dropout": ("bernoulli", "dropout", "aten::random_", "aten::randint"),
    "loss": ("log_softmax", "cross_entropy", "nll_loss", "_LinearCrossEntropy", "logsumexp", "aten::exp"),
    "optimizer": ("Optimizer.step", "_foreach", "adamw", "aten::lerp", "aten::addcdiv", "aten::sqrt"),
}


def build_model(folder: str, layers: int) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    from lightning_lora.models.loading import load_tokenizer

    tokenizer = load_tokenizer("tiny:llama")
    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=576, intermediate_size=1536, num_hidden_layers=layers, num_attention_heads=9,
                         num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True, rope_theta=100000.0,
                         pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def category(name: str) -> str:
    return next((c for c, keys in CATEGORIES.items() if any(k in name for k in keys)), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--batch", type=int, nargs=2, default=[4, 256], metavar=("ROWS", "LENGTH"))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--dropout", type=float, default=0.1, help="LoRA dropout (the seed study's 0.1)")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = parser.parse_args()
    from lightning_lora.models.methods import LoraArgs
    from lightning_lora.modules.causal_lm import CausalLMModule

    rows, length = args.batch
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 49152, (rows, length), generator=generator)
    labels = ids.clone()
    labels[:, : length * 3 // 4] = -100
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    lora = LoraArgs(r=16, lora_alpha=32, lora_dropout=args.dropout,
                    target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    print(f"SmolLM2-135M-shaped, {args.layers} layers, batch {rows}x{length} ({int((labels[:, 1:] != -100).sum())} "
          f"targets), LoRA r16 dropout {args.dropout}, {torch.get_num_threads()} thread(s), torch {torch.__version__}")
    print("| setting | s/step (median) | " + " | ".join([*CATEGORIES, "other"]) + " |")
    print("|---|---:|" + "---:|" * (len(CATEGORIES) + 1))
    top: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        build_model(folder, args.layers)
        for name in args.settings:
            dtype, autocast = SETTINGS[name]
            module = CausalLMModule(folder, lora=lora, dtype=dtype)
            optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-4)

            def step(module: Any = module, optimizer: Any = optimizer, autocast: bool = autocast) -> None:
                with torch.autocast("cpu", dtype=torch.bfloat16) if autocast else nullcontext():
                    loss, _ = module._loss(batch)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

            step()
            times = []
            for _ in range(args.steps):
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
                step()
            shares = dict.fromkeys([*CATEGORIES, "other"], 0.0)
            others = []
            for event in profile.key_averages():
                shares[category(event.key)] += event.self_cpu_time_total
                if category(event.key) == "other":
                    others.append((event.self_cpu_time_total, event.key))
            total = sum(shares.values())
            print(f"| {name} | {statistics.median(times):.2f} | "
                  + " | ".join(f"{v / total:.0%}" for v in shares.values()) + " |", flush=True)
            top.append(f"{name}: " + ", ".join(f"{key} {t / total:.0%}" for t, key in sorted(others, reverse=True)[:6]))

    print("largest 'other' ops (self CPU time share):\n" + "\n".join(top))


if __name__ == "__main__":
    main()

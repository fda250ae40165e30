"""Checkpoint size vs model size for LoRA on a Qwen2.5-Coder-1.5B-shaped model (random weights, no download).

    .venv/bin/python benchmarks/checkpoint_size.py [--workdir /tmp/ll_ckpt_size]

Builds a model with Qwen2.5-1.5B's published shape (28 layers, hidden 1536, intermediate 8960,
12 heads / 2 KV heads, vocab 151936) in bfloat16, saves it as a Hugging Face folder, trains it for
two steps through the real CLI with the seed study's LoRA settings (r=16, alpha=32, all seven
projections), and compares the checkpoint file with the model's weights file. Needs ~10 GB of RAM
and ~4 GB of disk; a few minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch


def build_model_dir(target: Path) -> Path:
    from transformers import AutoModelForCausalLM, Qwen2Config

    from lightning_lora.models.tiny import build_tokenizer

    if (target / "config.json").exists():
        return target
    tokenizer = build_tokenizer()
    config = Qwen2Config(vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768,
                         tie_word_embeddings=True, rope_theta=1000000.0, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/ll_ckpt_size")
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    model_dir = build_model_dir(work / "qwen2.5-1.5b-shaped")
    repo = Path(__file__).resolve().parents[1]
    os.chdir(work)
    from lightning_lora.training.cli import build_cli

    start = time.perf_counter()
    cli = build_cli([
        "fit", "--config", str(repo / "configs" / "quickstart.yaml"), "--run_name", "size",
        "--model.model_name_or_path", str(model_dir), "--model.dtype", "bfloat16",
        "--model.lora.r", "16", "--model.lora.lora_alpha", "32",
        "--data.max_length", "64", "--data.batch_size", "1", "--data.max_samples", "8",
        "--trainer.max_steps", "2", "--checkpoint.every_n_train_steps", "2", "--trainer.callbacks", "[]",
        "--trainer.enable_progress_bar", "false", "--trainer.limit_val_batches", "1",
    ])
    elapsed = time.perf_counter() - start
    ckpt = work / "checkpoints" / "size" / "last.ckpt"
    weights = sum(p.stat().st_size for p in model_dir.glob("*.safetensors"))
    report = {
        "total_params": cli.model.params["total_params"], "trainable_params": cli.model.params["trainable_params"],
        "trainable_percent": round(cli.model.params["trainable_percent"], 3),
        "checkpoint_bytes": ckpt.stat().st_size, "model_weights_bytes_bf16": weights,
        "ratio_model_over_checkpoint": round(weights / ckpt.stat().st_size, 1), "fit_seconds": round(elapsed, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

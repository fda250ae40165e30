"""Training throughput side by side: lightning_lora vs a plain Hugging Face Trainer + PEFT script.

    .venv/bin/python benchmarks/throughput.py [--samples 96] [--batch_size 8] [--repeats 3]
        [--configs hf-maxpad hf-dynamic lightning_lora] [--workdir DIR]

Every configuration trains the same model on the same samples with the same settings:

- model: a random-init Qwen2-shaped causal LM built here from ``Qwen2Config`` (4 layers, hidden 256,
  4 heads / 2 KV heads, MLP 1024, vocab 8192, tied embeddings, SDPA attention), saved with its
  tokenizer and loaded back by path by every configuration;
- tokenizer: a byte-level BPE (vocab up to 8192) trained here on the generated code, ChatML template;
- data: generated code SFT rows in the CodeGen-Deep schema (a problem statement and a Python-like
  solution whose token length is log-normal, median 220, clipped to 50-1000), rendered through the
  chat template with the prompt masked out of the loss, max_length 1024. All configurations read the
  same tokenized rows: lightning_lora through its own data module, the Hugging Face baselines the
  rows that module tokenized (the same ``input_ids`` and ``labels``);
- training: LoRA r=16, alpha=32, dropout 0, on q/k/v/o/gate/up/down_proj; AdamW lr 1e-3, linear
  decay, no warm-up, weight decay 0, gradient clipping 1.0; fp32 on the CPU; one epoch over
  ``--samples`` samples in batches of ``--batch_size``; no validation or checkpoints inside the timing.

Configurations (each run in its own subprocess, so peak RSS is per configuration):

- ``hf-maxpad``: ``transformers.Trainer`` + PEFT, every sample padded to max_length (the seed studies);
- ``hf-dynamic``: the same with ``DataCollatorForSeq2Seq`` (padding to the longest in the batch);
- ``hf-grouped``: dynamic padding plus the Trainer's own ``group_by_length``;
- ``lightning_lora``: our CLI (LightningCLI, CausalLMModule, CodeSFTDataModule, TokenThroughput...)
  with its fastest settings here (``FASTEST`` below); ``ll-*`` are the step-by-step variants.

Timing: every subprocess first runs two untimed forward/backward passes (warm-up), then times its
whole epoch from the start of the first step to the end of the last, so every configuration is
timed over exactly the same samples. Throughput is target tokens (labels that take part in the
loss, never padding) per second of wall time, and per second of the process's CPU time (less
sensitive to other work on a shared machine). The configurations run interleaved, ``--repeats``
times each; repeat k uses seed k for every configuration (LoRA init and sample order), so the
spread of the eval loss is seed noise. Medians are reported. "eval loss" is the token-weighted
loss of the trained adapter on 32 held-out samples (one at a time, no padding: the same function
for every configuration).

Threads: one torch thread per run by default. On a 2-core machine shared with other jobs, two
OpenMP threads spin and wait on each other whenever one is descheduled: a step measured 0.6 s
alone and 3 to 6 s under load, against a steady 1.05 s with one thread. ``--threads 2`` on an
idle machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # tokenization is done before timing; no thread pools
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
MODEL = dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, vocab_size=8192, max_position_embeddings=2048, tie_word_embeddings=True)
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA = dict(r=16, lora_alpha=32, lora_dropout=0.0)
LR = 1e-3
MAX_LENGTH = 1024
SYSTEM_PROMPT = "You are an expert Python programmer."
EVAL_SAMPLES = 32

#: lightning_lora options per configuration (the step-by-step path to the fastest one).
LL_CONFIGS: dict[str, dict[str, Any]] = {
    "ll-plain": {"model.init_args.efficient_loss": False},
    "ll-efficient": {},
    "ll-grouped": {"data.init_args.group_by_length": True},
    "ll-packed": {"data.init_args.pack": True},
    "ll-grouped-packed": {"data.init_args.group_by_length": True, "data.init_args.pack": True},
    "ll-grouped-plain": {"data.init_args.group_by_length": True, "model.init_args.efficient_loss": False},
}
FASTEST = "ll-packed"  # measured fastest here (RESULTS: the step-by-step table)
CONFIGS = ["hf-maxpad", "hf-dynamic", "hf-grouped", "lightning_lora", *LL_CONFIGS]


# -- the data and the model ----------------------------------------------------------------------------
_WORDS = ("value", "count", "total", "index", "result", "items", "node", "graph", "left", "right", "queue",
          "stack", "best", "cost", "dist", "memo", "grid", "row", "col", "answer", "prefix", "window", "seen", "parent")
_STATEMENT = ("Given", "an", "array", "of", "integers", "find", "the", "minimum", "maximum", "number", "of",
              "operations", "such", "that", "every", "pair", "is", "distinct", "print", "modulo", "queries", "string")


def _name(rng: random.Random) -> str:
    return rng.choice(_WORDS) + (rng.choice(("", "_" + rng.choice(_WORDS), str(rng.randint(0, 9)))))


def _code_line(rng: random.Random, depth: int) -> tuple[str, int]:
    a, b, c = _name(rng), _name(rng), _name(rng)
    kind = rng.random()
    if kind < 0.15 and depth < 3:
        return f"for {a} in range({rng.randint(1, 200)}):", depth + 1
    if kind < 0.25 and depth < 3:
        return f"if {a} {rng.choice(('<', '>', '==', '!='))} {b}:", depth + 1
    if kind < 0.32 and depth > 0:
        return rng.choice(("break", "continue", f"return {a}")), depth - 1
    if kind < 0.5:
        return f"{a} = {b} {rng.choice('+-*%')} {rng.randint(0, 10**rng.randint(1, 6))}", depth
    if kind < 0.65:
        return f"{a}.append({b}[{c}])", depth
    if kind < 0.8:
        return f"{a} = min({b}, {c} + {rng.randint(1, 99)})", depth
    return f"print({a}, {b})", depth


def code_rows(n: int, seed: int) -> list[dict[str, str]]:
    """Code SFT rows; the solution's length in tokens is drawn log-normal (median ~220, 50..1000)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        target = min(1000, max(50, int(rng.lognormvariate(math.log(220), 0.7))))
        lines, depth, approx = ["import sys", "def solve():"], 1, 8
        while approx < target:  # about 2.2 characters per token with the BPE trained below
            line, new_depth = _code_line(rng, depth)
            lines.append("    " * depth + line)
            depth = max(1, new_depth)
            approx += max(2, round(len(line) / 2.2))
        lines.append("solve()")
        statement = " ".join(rng.choice(_STATEMENT) for _ in range(rng.randint(15, 60))) + "."
        rows.append({"input": statement, "solution": "\n".join(lines) + "\n", "output": ""})
    return rows


def prepare(workdir: Path, samples: int) -> dict[str, str]:
    """Write the model (with its tokenizer) and the data under ``workdir`` (once); tokenize once."""
    model_dir, data = workdir / "model", workdir / "data.jsonl"
    if not (model_dir / "config.json").exists():
        import torch
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

        from lightning_lora.tiny import CHATML_TEMPLATE, SPECIAL_TOKENS

        corpus = [r["solution"] + r["input"] for r in code_rows(2000, seed=123)]
        backend = Tokenizer(models.BPE())
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        backend.train_from_iterator(corpus, trainer=trainers.BpeTrainer(
            vocab_size=MODEL["vocab_size"], special_tokens=SPECIAL_TOKENS, show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>")
        tokenizer.chat_template = CHATML_TEMPLATE
        torch.manual_seed(0)
        config = Qwen2Config(**MODEL, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                             bos_token_id=tokenizer.eos_token_id)
        Qwen2ForCausalLM(config).save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
    rows = [dict(r, split="train") for r in code_rows(samples, seed=0)]
    rows += [dict(r, split="valid") for r in code_rows(EVAL_SAMPLES, seed=1)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    datamodule(str(model_dir), str(data))  # tokenize once into the datasets cache; the workers reuse it
    return {"model": str(model_dir), "data": str(data)}


def datamodule(model: str, data: str, **kwargs: Any):
    from lightning_lora.data.code import CodeSFTDataModule

    dm = CodeSFTDataModule(path=data, tokenizer_name_or_path=model, mode="prompt_solution",
                           system_prompt=SYSTEM_PROMPT, max_length=MAX_LENGTH, **kwargs)
    dm.setup("fit")
    return dm


# -- one configuration in one process ------------------------------------------------------------------
def _targets(labels) -> int:
    return int((labels[:, 1:] != -100).sum())


def _warm_up(model, batch_size: int) -> None:
    """Two untimed forward/backward passes: first-call costs (allocator, kernels) stay out of the timing."""
    import torch

    ids = torch.randint(10, 1000, (batch_size, 256), generator=torch.Generator().manual_seed(0))
    for _ in range(2):
        model(input_ids=ids, labels=ids).loss.backward()
    model.zero_grad(set_to_none=True)


def _eval_loss(model, rows) -> float:
    """Token-weighted loss over held-out rows, one at a time (no padding): identical for every configuration."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for row in rows:
            ids = torch.tensor([row["input_ids"]])
            labels = torch.tensor([row["labels"]])
            n = _targets(labels)
            total += model(input_ids=ids, labels=labels).loss.item() * n
            count += n
    return total / count


def run_hf(name: str, paths: dict[str, str], batch_size: int, seed: int, rundir: Path) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments

    dm = datamodule(paths["model"], paths["data"])
    tokenizer = dm.tokenizer
    train = Dataset.from_dict({k: dm.splits["train"][k] for k in ("input_ids", "labels")})
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(paths["model"], dtype=torch.float32, attn_implementation="sdpa")
    model = get_peft_model(model, LoraConfig(**LORA, target_modules=TARGETS, task_type="CAUSAL_LM"))
    _warm_up(model, batch_size)

    dynamic = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
    fixed = DataCollatorForSeq2Seq(tokenizer, padding="max_length", max_length=MAX_LENGTH, label_pad_token_id=-100)
    collator = fixed if name == "hf-maxpad" else dynamic
    seen: list[tuple[int, int]] = []

    def collate(features):
        batch = collator(features)
        seen.append((_targets(batch["labels"]), batch["input_ids"].numel()))
        return batch

    class Timer(TrainerCallback):
        start = end = None
        losses: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            if Timer.start is None:
                Timer.start, Timer.cpu_start = time.perf_counter(), time.process_time()

        def on_step_end(self, args, state, control, **kwargs):
            Timer.end, Timer.cpu_end = time.perf_counter(), time.process_time()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                Timer.losses.append(logs["loss"])

    args = TrainingArguments(
        output_dir=str(rundir), per_device_train_batch_size=batch_size, num_train_epochs=1, learning_rate=LR,
        lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, logging_steps=1,
        save_strategy="no", report_to="none", use_cpu=True, dataloader_num_workers=0, seed=seed, data_seed=seed,
        disable_tqdm=True,
        train_sampling_strategy="group_by_length" if name == "hf-grouped" else "random", remove_unused_columns=False,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=collate, callbacks=[Timer()])
    trainer.train()
    return {"seconds": Timer.end - Timer.start, "cpu_seconds": Timer.cpu_end - Timer.cpu_start,
            "target_tokens": sum(t for t, _ in seen), "batch_tokens": sum(n for _, n in seen), "steps": len(seen),
            "train_loss_last5": statistics.fmean(Timer.losses[-5:]),
            "eval_loss": _eval_loss(model, dm.splits["validation"])}


def run_lightning(name: str, paths: dict[str, str], batch_size: int, seed: int, rundir: Path) -> dict[str, Any]:
    import lightning as L
    import yaml

    from lightning_lora.training_cli import build_cli

    overrides = LL_CONFIGS[FASTEST if name == "lightning_lora" else name]
    config = {
        "run_name": name, "seed_everything": seed, "eval_every_n_steps": 10**6,
        "model": {"class_path": "lightning_lora.modules.causal_lm.CausalLMModule", "init_args": {
            "model_name_or_path": paths["model"], "method": "lora", "attn_implementation": "sdpa",
            "lora": {**LORA, "target_modules": TARGETS},
            "optimizer": {"lr": LR, "scheduler": "linear", "warmup_steps": 0, "weight_decay": 0.0}}},
        "data": {"class_path": "lightning_lora.data.code.CodeSFTDataModule", "init_args": {
            "path": paths["data"], "mode": "prompt_solution", "system_prompt": SYSTEM_PROMPT,
            "max_length": MAX_LENGTH, "batch_size": batch_size, "seed": seed}},
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "devices": 1, "precision": "32-true",
                    "gradient_clip_val": 1.0, "log_every_n_steps": 1, "limit_val_batches": 0,
                    "num_sanity_val_steps": 0, "enable_progress_bar": False, "enable_model_summary": False},
        "checkpoint": {"every_n_train_steps": 10**6},
    }
    for key, value in overrides.items():
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    os.chdir(rundir)  # tb_logs/ and checkpoints/ land there
    (rundir / "config.yaml").write_text(yaml.safe_dump(config))
    cli = build_cli(["--config", str(rundir / "config.yaml")], run=False)
    _warm_up(cli.model.model, batch_size)

    class Timer(L.Callback):
        start = end = None
        targets = batch_tokens = steps = 0
        losses: list[float] = []

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if Timer.start is None:
                Timer.start, Timer.cpu_start = time.perf_counter(), time.process_time()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            Timer.end, Timer.cpu_end = time.perf_counter(), time.process_time()
            Timer.targets += _targets(batch["labels"])
            Timer.batch_tokens += batch["input_ids"].numel()
            Timer.steps += 1
            Timer.losses.append(float(outputs["loss"]))

    cli.trainer.callbacks.append(Timer())
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return {"seconds": Timer.end - Timer.start, "cpu_seconds": Timer.cpu_end - Timer.cpu_start,
            "target_tokens": Timer.targets, "batch_tokens": Timer.batch_tokens, "steps": Timer.steps,
            "train_loss_last5": statistics.fmean(Timer.losses[-5:]),
            "eval_loss": _eval_loss(cli.model.model, cli.datamodule.splits["validation"])}


def worker(name: str, workdir: Path, batch_size: int, threads: int, seed: int) -> None:
    import torch

    torch.set_num_threads(threads)
    paths = json.loads((workdir / "paths.json").read_text())
    rundir = Path(tempfile.mkdtemp(prefix=f"{name}-seed{seed}-", dir=workdir))
    try:
        result = (run_hf if name.startswith("hf-") else run_lightning)(name, paths, batch_size, seed, rundir)
    finally:
        shutil.rmtree(rundir, ignore_errors=True)
    result.update(config=name, threads=torch.get_num_threads(),
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print("RESULT " + json.dumps(result), flush=True)


# -- the driver -----------------------------------------------------------------------------------------
def epoch_flops(paths: dict[str, str]) -> float:
    """Model FLOPs of one epoch (the same samples for every configuration), as TokenThroughput counts them."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from lightning_lora.callbacks.throughput import flop_counts

    model = AutoModelForCausalLM.from_pretrained(paths["model"])
    counts = flop_counts(get_peft_model(model, LoraConfig(**LORA, target_modules=TARGETS, task_type="CAUSAL_LM")))
    total = 0.0
    for row in datamodule(paths["model"], paths["data"]).splits["train"]:
        n = len(row["input_ids"])
        total += counts.flops(n, sum(1 for label in row["labels"][1:] if label != -100), n * n)
    return total


def machine(threads: int) -> str:
    import torch

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return f"{model}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} torch thread(s) per run"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64, help="training samples (one epoch)")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration (median reported)")
    parser.add_argument("--configs", nargs="+", default=["hf-maxpad", "hf-dynamic", "lightning_lora"], choices=CONFIGS)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per run (1: see the module docstring on shared machines)")
    parser.add_argument("--workdir", type=Path, default=None, help="model, data and caches (default: a temporary folder)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="throughput-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("LIGHTNING_LORA_CACHE", str(workdir / "cache"))
    os.environ.setdefault("HF_DATASETS_CACHE", str(workdir / "hf_datasets"))
    if args.worker:
        worker(args.worker, workdir, args.batch_size, args.threads, args.seed)
        return

    paths = prepare(workdir, args.samples)
    (workdir / "paths.json").write_text(json.dumps(paths))
    lengths = [len(r) for r in datamodule(paths["model"], paths["data"]).splits["train"]["input_ids"]]
    print(f"machine: {machine(args.threads)}; load average {os.getloadavg()[0]:.1f} at start")
    print(f"data: {len(lengths)} samples, tokens per sample median {statistics.median(lengths):.0f}, "
          f"min {min(lengths)}, max {max(lengths)}; batch {args.batch_size}; max_length {MAX_LENGTH}; "
          f"{args.repeats} interleaved repeats")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in args.configs}
    for repeat in range(args.repeats):
        for name in args.configs:
            proc = subprocess.run([sys.executable, __file__, "--worker", name, "--workdir", str(workdir),
                                   "--batch_size", str(args.batch_size), "--threads", str(args.threads),
                                   "--seed", str(repeat)],
                                  capture_output=True, text=True, cwd=REPO,
                                  env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
            lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                sys.exit(f"{name} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
            result = json.loads(lines[-1][len("RESULT "):])
            results[name].append(result)
            print(f"  repeat {repeat + 1} {name}: {result['target_tokens'] / result['seconds']:.0f} target tokens/s, "
                  f"{result['target_tokens'] / result['cpu_seconds']:.0f} per CPU-s, {result['seconds']:.1f} s, "
                  f"peak RSS {result['peak_rss_mb']:.0f} MB, eval loss {result['eval_loss']:.4f}",
                  flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    (workdir / "results.json").write_text(json.dumps(results, indent=1))
    import torch

    from lightning_lora.callbacks.throughput import measured_cpu_peak_flops

    torch.set_num_threads(args.threads)
    flops, peak = epoch_flops(paths), measured_cpu_peak_flops(torch.float32)
    print(f"model FLOPs per epoch: {flops / 1e12:.3f} TFLOP; this CPU's fp32 matmul peak with {args.threads} "
          f"thread(s): {peak / 1e9:.0f} GFLOP/s (MFU = FLOPs / epoch seconds / peak)")
    table(results, flops / peak)
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


def table(results: dict[str, list[dict[str, Any]]], peak_seconds: float) -> None:
    """The medians per configuration and their ratios to the Hugging Face baselines, as a markdown table."""
    rows = {}
    for name, runs in results.items():
        wall = [r["target_tokens"] / r["seconds"] for r in runs]
        rows[name] = {"tps": statistics.median(wall), "spread": (min(wall), max(wall)),
                      "cpu": statistics.median(r["target_tokens"] / r["cpu_seconds"] for r in runs),
                      "rss": statistics.median(r["peak_rss_mb"] for r in runs),
                      "seconds": statistics.median(r["seconds"] for r in runs),
                      "pad": statistics.median(1 - r["target_tokens"] / r["batch_tokens"] for r in runs),
                      "eval": statistics.median(r["eval_loss"] for r in runs),
                      "eval_spread": (min(r["eval_loss"] for r in runs), max(r["eval_loss"] for r in runs)),
                      "train": statistics.median(r["train_loss_last5"] for r in runs)}
    references = [ref for ref in ("hf-maxpad", "hf-dynamic") if ref in rows]
    print("\n| config | target tokens/s (median; min-max) | per CPU-second | epoch s | batch cells without a target "
          "| MFU | peak RSS MB | eval loss (min-max) | train loss (last 5 steps) |"
          + "".join(f" vs {ref}: tokens/s, per CPU-s, RSS |" for ref in references))
    print("|---|" + "---:|" * (8 + len(references)))
    for name, row in rows.items():
        line = (f"| {name} | {row['tps']:.0f} ({row['spread'][0]:.0f}-{row['spread'][1]:.0f}) | {row['cpu']:.0f} | "
                f"{row['seconds']:.1f} | {row['pad']:.0%} | {peak_seconds / row['seconds']:.1%} | {row['rss']:.0f} | "
                f"{row['eval']:.4f} "
                f"({row['eval_spread'][0]:.4f}-{row['eval_spread'][1]:.4f}) | {row['train']:.4f} |")
        line += "".join(f" {row['tps'] / rows[ref]['tps']:.2f}x, {row['cpu'] / rows[ref]['cpu']:.2f}x, "
                        f"{row['rss'] / rows[ref]['rss']:.2f}x |" for ref in references)
        print(line)


if __name__ == "__main__":
    main()

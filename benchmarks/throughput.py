"""Training throughput side by side: lightning_lora vs a plain Hugging Face Trainer + PEFT script, fp32 and bf16.

    .venv/bin/python benchmarks/throughput.py [--samples 64] [--smollm2_samples 16] [--batch_size 8] [--repeats 3]
        [--configs hf-maxpad hf-dynamic lightning_lora] [--smollm2_configs hf-dynamic lightning_lora]
        [--qwen_configs hf-dynamic lightning_lora] [--qwen_samples 16] [--qwen_batch_size 4]
        [--qwen_max_length 512] [--qwen_precisions bf16]
        [--precisions fp32 bf16] [--output results.json] [--quick] [--workdir DIR]

The real Qwen2.5-Coder-0.5B-Instruct is off by default (an epoch of it takes minutes). Its row alone, LoRA r16
alpha 32 dropout 0.1 on all seven projections, bf16, this tool against HF Trainer + PEFT in one run (fetch it
once first: ``python -m lightning_lora models fetch qwen2.5-coder-0.5b-instruct``):

    .venv/bin/python benchmarks/throughput.py --configs --smollm2_configs \
        --qwen_configs hf-dynamic lightning_lora --output results-qwen.json

(16 samples at batch 4, max_length 512, 3 repeats, one thread per run: about 4 minutes a repeat on a 2-core
CPU, estimated from a 4-sample smoke run, including model loads and the eval.)

Every configuration trains the same model on the same samples with the same settings:

- models (``MODELS``): ``small`` and ``smollm2`` are random init from their config class, saved with the
  tokenizer and loaded back by path by every configuration: ``small``, a Qwen2-shaped causal LM (4 layers,
  hidden 256, 4 heads / 2 KV heads, MLP 1024, vocab 8192, tied embeddings, SDPA), and ``smollm2``,
  SmolLM2-135M's shape (Llama, 30 layers, hidden 576, 9 / 3 heads, MLP 1536, vocab 49152, tied).
  ``qwen2.5-coder-0.5b`` is the real, pretrained Qwen2.5-Coder-0.5B-Instruct (Qwen2, 24 layers, hidden 896,
  14 / 2 heads, MLP 4864, vocab 151936, tied, bf16 weights, 494M parameters) as ``models fetch`` leaves it:
  the folder that ``real:qwen2.5-coder-0.5b-instruct`` names, with its own tokenizer and chat template, read
  by path by every configuration (lightning_lora's ``model_name_or_path`` and the HF baseline's
  ``from_pretrained``); configurations ``--qwen_configs`` (none by default), precisions ``--qwen_precisions``;
- tokenizer: ``small`` and ``smollm2``: a byte-level BPE (vocab up to 8192) trained here on the generated
  code, ChatML template; ``qwen2.5-coder-0.5b``: its own;
- data: generated code SFT rows in the CodeGen-Deep schema (a problem statement and a Python-like
  solution whose token length is log-normal, median 220, clipped to 50-1000), rendered through the
  chat template with the prompt masked out of the loss, max_length 1024 (``qwen2.5-coder-0.5b``: 512,
  ``--qwen_max_length``, the shipped ``configs/qwen2.5-coder-0.5b-code.yaml``'s; its tokenizer gives the
  first 16 rows 127-879 tokens, median 232, and 512 cuts the two longest). All configurations read the
  same tokenized rows: lightning_lora through its own data module, the Hugging Face baselines the
  rows that module tokenized (the same ``input_ids`` and ``labels``);
- training: LoRA r=16, alpha=32 on q/k/v/o/gate/up/down_proj, dropout 0 (``small``) or the seed study's
  0.1 (``smollm2``, ``--smollm2_lora_dropout``; ``qwen2.5-coder-0.5b``); AdamW lr 1e-3, linear decay, no
  warm-up, weight decay 0, gradient clipping 1.0; one epoch over the samples in batches of ``--batch_size``
  (``--smollm2_batch_size``, ``--qwen_batch_size``); no validation or checkpoints inside the timing;
- precision (``--precisions``; ``--qwen_precisions`` for the real model, bf16 only by default: its checkpoint
  is bf16; ``--qwen_precisions fp32 bf16`` adds fp32 rows, on weights upcast from it): ``fp32``; or ``bf16``:
  HF with ``TrainingArguments(bf16=True)`` (fp32 weights under CPU autocast, its documented CPU setting; on
  the real model, whose checkpoint is bf16, the weights loaded as bf16, ``from_pretrained(folder,
  dtype=torch.bfloat16)``: half the weight memory and no per-step weight casts, the frozen base in the same
  dtype as ours; PEFT keeps the adapters fp32), lightning_lora with its real-model configs' setting,
  ``model.dtype: bfloat16`` + ``trainer.precision: bf16-mixed`` (fp32 adapters, optimizer, loss).

Configurations (each run in its own subprocess, so peak RSS is per configuration; it is reported twice: for the
whole process, and up to the end of training, before the eval below: the eval's full-vocabulary logits, the
same for every configuration, set lightning_lora's peak on the real Qwen: 5099 MB against 4533 MB at batch 2):

- ``hf-maxpad``: ``transformers.Trainer`` + PEFT, every sample padded to max_length (the seed studies);
- ``hf-dynamic``: the same with ``DataCollatorForSeq2Seq`` (padding to the longest in the batch);
- ``hf-grouped``: dynamic padding plus the Trainer's own ``group_by_length``;
- ``lightning_lora``: our CLI (LightningCLI, CausalLMModule, CodeSFTDataModule, TokenThroughput...)
  with its fastest settings here (``FASTEST`` below); ``ll-*`` are the step-by-step variants.

Timing: every subprocess first runs two untimed forward/backward passes (warm-up, 2 x 128 tokens), then times its
whole epoch from the start of the first step to the end of the last, so every configuration is
timed over exactly the same samples. Throughput is target tokens (labels that take part in the
loss, never padding) per second of wall time, and per second of the process's CPU time (less
sensitive to other work on a shared machine). MFU is the epoch's model FLOPs per second over this
CPU's measured bf16 matmul peak (and, in a second column, its fp32 peak). The runs go interleaved, ``--repeats``
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
TOKENIZER_VOCAB = 8192
#: The models. ``small`` and ``smollm2`` are random init from their config class: ``small`` is the original
#: benchmark model; ``smollm2`` has SmolLM2-135M's shape (Llama, 30 layers, hidden 576, 9 / 3 heads, vocab
#: 49152, tied) and trains with the seed study's LoRA dropout 0.1. Its vocabulary is wider than the benchmark
#: tokenizer's: the extra rows of the LM head still cost what they cost in the real model. ``real`` names a
#: model that ``models fetch`` put in the cache (pretrained weights, its own tokenizer), read from that folder.
MODELS: dict[str, dict[str, Any]] = {
    "small": dict(arch="qwen2", lora_dropout=0.0, config=dict(
        hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=8192, max_position_embeddings=2048, tie_word_embeddings=True)),
    "smollm2": dict(arch="llama", lora_dropout=0.1, config=dict(
        hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
        vocab_size=49152, max_position_embeddings=2048, tie_word_embeddings=True, rms_norm_eps=1e-5,
        rope_theta=100000.0)),
    "qwen2.5-coder-0.5b": dict(real="qwen2.5-coder-0.5b-instruct", lora_dropout=0.1),
}
QWEN = "qwen2.5-coder-0.5b"
#: How each framework trains in bf16. HF: ``TrainingArguments(bf16=True)`` (fp32 weights, CPU autocast),
#: its documented CPU setting. lightning_lora: the shipped real-model configs' setting, a bf16 frozen base
#: (``model.dtype: bfloat16``) under ``trainer.precision: bf16-mixed``; adapters, optimizer and loss fp32.
PRECISIONS = ("fp32", "bf16")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA = dict(r=16, lora_alpha=32)
LR = 1e-3
MAX_LENGTH = 1024
#: The real Qwen's max_length: the shipped configs/qwen2.5-coder-0.5b-code.yaml's, short enough that an epoch of
#: 16 samples at batch 4 stays at minutes on a CPU (a batch is at most 4 x 512 tokens).
QWEN_MAX_LENGTH = 512
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
#: Configurations run on the smollm2 model by default: the best HF setting against ours (each epoch is long).
SMOLLM2_CONFIGS = ["hf-dynamic", "lightning_lora"]
#: The configurations to name for the real Qwen (``--qwen_configs``; none by default): the same pair.
QWEN_CONFIGS = SMOLLM2_CONFIGS


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


def real_model_folder(model: str) -> str:
    """The folder of a fetched real model, found before ``main`` points ``LIGHTNING_LORA_CACHE`` at the workdir;
    not fetched: exit with one line saying how to fetch it."""
    from lightning_lora.models.registry import is_fetched, model_dir

    name = MODELS[model]["real"]
    if not is_fetched(name):
        sys.exit(f"{name} is not fetched (the {model} rows read it from the cache); run "
                 f"`python -m lightning_lora models fetch {name}` first.")
    return str(model_dir(name))


def prepare(workdir: Path, model: str, samples: int, max_length: int = MAX_LENGTH,
            folder: str | None = None) -> dict[str, Any]:
    """Write ``model`` (with its tokenizer; a real model is read from its ``folder``) and its data under
    ``workdir`` (once); tokenize once."""
    model_dir, data = Path(folder) if folder else workdir / f"model-{model}", workdir / f"data-{model}.jsonl"
    if folder is None and not (model_dir / "config.json").exists():
        import torch
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

        from lightning_lora.models.tiny import CHATML_TEMPLATE, SPECIAL_TOKENS

        corpus = [r["solution"] + r["input"] for r in code_rows(2000, seed=123)]
        backend = Tokenizer(models.BPE())
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        backend.train_from_iterator(corpus, trainer=trainers.BpeTrainer(
            vocab_size=TOKENIZER_VOCAB, special_tokens=SPECIAL_TOKENS, show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>")
        tokenizer.chat_template = CHATML_TEMPLATE
        torch.manual_seed(0)
        spec = MODELS[model]
        qwen = spec["arch"] == "qwen2"
        config_class, model_class = (Qwen2Config, Qwen2ForCausalLM) if qwen else (LlamaConfig, LlamaForCausalLM)
        config = config_class(**spec["config"], eos_token_id=tokenizer.eos_token_id,
                              pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.eos_token_id)
        model_class(config).save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
    rows = [dict(r, split="train") for r in code_rows(samples, seed=0)]
    rows += [dict(r, split="valid") for r in code_rows(EVAL_SAMPLES, seed=1)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    datamodule(str(model_dir), str(data), max_length)  # tokenize once into the datasets cache; the workers reuse it
    return {"model": str(model_dir), "data": str(data), "lora_dropout": MODELS[model]["lora_dropout"],
            "max_length": max_length, "hf_bf16_weights": "real" in MODELS[model]}


def datamodule(model: str, data: str, max_length: int = MAX_LENGTH, **kwargs: Any):
    from lightning_lora.data.code import CodeSFTDataModule

    dm = CodeSFTDataModule(path=data, tokenizer_name_or_path=model, mode="prompt_solution",
                           system_prompt=SYSTEM_PROMPT, max_length=max_length, **kwargs)
    dm.setup("fit")
    return dm


# -- one configuration in one process ------------------------------------------------------------------
def _targets(labels) -> int:
    return int((labels[:, 1:] != -100).sum())


def _warm_up(model, bf16: bool) -> None:
    """Two untimed forward/backward passes on a small batch: first-call costs (thread pool, kernel choice) stay
    out of the timing."""
    import torch

    ids = torch.randint(10, 1000, (2, 128), generator=torch.Generator().manual_seed(0))
    for _ in range(2):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
    model.zero_grad(set_to_none=True)


def _peak_rss_mb() -> float:
    """This process's peak RSS so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _eval_loss(model, rows, bf16: bool) -> float:
    """Token-weighted loss over held-out rows, one at a time (no padding): identical for every configuration
    (bf16 runs evaluate under bf16 autocast, as they trained)."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for row in rows:
            ids = torch.tensor([row["input_ids"]])
            labels = torch.tensor([row["labels"]])
            n = _targets(labels)
            total += model(input_ids=ids, labels=labels).loss.item() * n
            count += n
    return total / count


def run_hf(name: str, paths: dict[str, Any], batch_size: int, seed: int, rundir: Path, bf16: bool) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments

    dm = datamodule(paths["model"], paths["data"], paths["max_length"])
    tokenizer = dm.tokenizer
    train = Dataset.from_dict({k: dm.splits["train"][k] for k in ("input_ids", "labels")})
    torch.manual_seed(seed)
    # A bf16 checkpoint (the real model) loads as bf16 for a bf16 run; the random-init models keep fp32 weights.
    dtype = torch.bfloat16 if bf16 and paths["hf_bf16_weights"] else torch.float32
    model = AutoModelForCausalLM.from_pretrained(paths["model"], dtype=dtype, attn_implementation="sdpa")
    model = get_peft_model(model, LoraConfig(**LORA, lora_dropout=paths["lora_dropout"], target_modules=TARGETS,
                                             task_type="CAUSAL_LM"))
    _warm_up(model, bf16)

    dynamic = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
    fixed = DataCollatorForSeq2Seq(tokenizer, padding="max_length", max_length=paths["max_length"],
                                   label_pad_token_id=-100)
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
        save_strategy="no", report_to="none", use_cpu=True, bf16=bf16, dataloader_num_workers=0, seed=seed, data_seed=seed,
        disable_tqdm=True,
        train_sampling_strategy="group_by_length" if name == "hf-grouped" else "random", remove_unused_columns=False,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=collate, callbacks=[Timer()])
    trainer.train()
    return {"seconds": Timer.end - Timer.start, "cpu_seconds": Timer.cpu_end - Timer.cpu_start,
            "target_tokens": sum(t for t, _ in seen), "batch_tokens": sum(n for _, n in seen), "steps": len(seen),
            "train_loss_last5": statistics.fmean(Timer.losses[-5:]), "peak_rss_train_mb": _peak_rss_mb(),
            "eval_loss": _eval_loss(model, dm.splits["validation"], bf16)}


def run_lightning(name: str, paths: dict[str, Any], batch_size: int, seed: int, rundir: Path, bf16: bool) -> dict[str, Any]:
    import lightning as L
    import yaml

    from lightning_lora.training.cli import build_cli

    overrides = LL_CONFIGS[FASTEST if name == "lightning_lora" else name]
    config = {
        "run_name": name, "seed_everything": seed, "eval_every_n_steps": 10**6,
        "model": {"class_path": "lightning_lora.modules.causal_lm.CausalLMModule", "init_args": {
            "model_name_or_path": paths["model"], "method": "lora", "attn_implementation": "sdpa",
            "dtype": "bfloat16" if bf16 else "float32",
            "lora": {**LORA, "lora_dropout": paths["lora_dropout"], "target_modules": TARGETS},
            "optimizer": {"lr": LR, "scheduler": "linear", "warmup_steps": 0, "weight_decay": 0.0}}},
        "data": {"class_path": "lightning_lora.data.code.CodeSFTDataModule", "init_args": {
            "path": paths["data"], "mode": "prompt_solution", "system_prompt": SYSTEM_PROMPT,
            "max_length": paths["max_length"], "batch_size": batch_size, "seed": seed}},
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "devices": 1, "precision": "bf16-mixed" if bf16 else "32-true",
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
    _warm_up(cli.model.model, bf16)

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
            "train_loss_last5": statistics.fmean(Timer.losses[-5:]), "peak_rss_train_mb": _peak_rss_mb(),
            "eval_loss": _eval_loss(cli.model.model, cli.datamodule.splits["validation"], bf16)}


def worker(name: str, model: str, precision: str, workdir: Path, batch_size: int, threads: int, seed: int) -> None:
    import torch

    torch.set_num_threads(threads)
    paths = json.loads((workdir / "paths.json").read_text())[model]
    rundir = Path(tempfile.mkdtemp(prefix=f"{name}-{model}-{precision}-seed{seed}-", dir=workdir))
    try:
        result = (run_hf if name.startswith("hf-") else run_lightning)(name, paths, batch_size, seed, rundir,
                                                                       precision == "bf16")
    finally:
        shutil.rmtree(rundir, ignore_errors=True)
    result.update(config=name, model=model, precision=precision, threads=torch.get_num_threads(),
                  peak_rss_mb=_peak_rss_mb())
    print("RESULT " + json.dumps(result), flush=True)


# -- the driver -----------------------------------------------------------------------------------------
def epoch_flops(paths: dict[str, Any]) -> float:
    """Model FLOPs of one epoch (the same samples for every configuration), as TokenThroughput counts them."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from lightning_lora.callbacks.throughput import flop_counts

    model = AutoModelForCausalLM.from_pretrained(paths["model"])
    counts = flop_counts(get_peft_model(model, LoraConfig(**LORA, target_modules=TARGETS, task_type="CAUSAL_LM")))
    total = 0.0
    for row in datamodule(paths["model"], paths["data"], paths["max_length"]).splits["train"]:
        n = len(row["input_ids"])
        total += counts.flops(n, sum(1 for label in row["labels"][1:] if label != -100), n * n)
    return total


def machine(threads: int) -> str:
    import torch

    from lightning_lora.modules.precision import cpu_has_bf16_matmul

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    units = "bf16 matrix units (AMX/AVX-512 BF16)" if cpu_has_bf16_matmul() else "no bf16 matrix units"
    return f"{model}, {os.cpu_count()} cores, {units}, torch {torch.__version__}, {threads} torch thread(s) per run"


def row_name(config: str, model: str, precision: str) -> str:
    return f"{config} {precision} [{model}]"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64, help="training samples (one epoch) for the small model")
    parser.add_argument("--smollm2_samples", type=int, default=16, help="training samples (one epoch) for smollm2")
    parser.add_argument("--batch_size", type=int, default=8, help="batch size on the small model")
    parser.add_argument("--smollm2_batch_size", type=int, default=4,
                        help="batch size on smollm2 (8 ran out of 24 GB in the HF baseline: full fp32 logits)")
    parser.add_argument("--qwen_samples", type=int, default=16,
                        help="training samples (one epoch) for the real Qwen2.5-Coder-0.5B-Instruct")
    parser.add_argument("--qwen_batch_size", type=int, default=4,
                        help="batch size on the real Qwen (the seed study's and the shipped 0.5B config's)")
    parser.add_argument("--qwen_max_length", type=int, default=QWEN_MAX_LENGTH,
                        help="max_length of the real Qwen's samples (the shipped 0.5B config's; the others use "
                             f"{MAX_LENGTH})")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration (median reported)")
    parser.add_argument("--configs", nargs="*", default=["hf-maxpad", "hf-dynamic", "lightning_lora"], choices=CONFIGS,
                        help="configurations on the small model (none: skip it)")
    parser.add_argument("--smollm2_configs", nargs="*", default=SMOLLM2_CONFIGS, choices=CONFIGS,
                        help="configurations on the smollm2 model (none: skip it)")
    parser.add_argument("--qwen_configs", nargs="*", default=[], choices=CONFIGS,
                        help="configurations on the real Qwen2.5-Coder-0.5B-Instruct (default none: off; its row is "
                             f"--qwen_configs {' '.join(QWEN_CONFIGS)}; needs `models fetch "
                             f"{MODELS[QWEN]['real']}`)")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS,
                        help="precisions on the small and smollm2 models")
    parser.add_argument("--qwen_precisions", nargs="+", default=["bf16"], choices=PRECISIONS,
                        help="precisions on the real Qwen (default bf16: its weights are bf16)")
    parser.add_argument("--smollm2_lora_dropout", type=float, default=MODELS["smollm2"]["lora_dropout"],
                        help="LoRA dropout on smollm2 (default: the seed study's 0.1)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 16 + 8 (+ 4 Qwen) samples, 1 repeat (figures not comparable with a full run)")
    parser.add_argument("--output", type=Path, default=None, help="write every row and the ratios as JSON here")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per run (1: see the module docstring on shared machines)")
    parser.add_argument("--workdir", type=Path, default=None, help="model, data and caches (default: a temporary folder)")
    parser.add_argument("--worker", nargs=3, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 <= args.smollm2_lora_dropout < 1:
        parser.error("--smollm2_lora_dropout must be in [0, 1)")
    if args.quick:
        args.samples, args.smollm2_samples, args.qwen_samples, args.repeats = 16, 8, 4, 1
    for option in ("samples", "smollm2_samples", "qwen_samples", "batch_size", "smollm2_batch_size", "qwen_batch_size",
                   "repeats", "threads"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    if args.qwen_max_length < 128:  # the prompts (system prompt, statement, chat template) are up to ~100 tokens
        parser.error("--qwen_max_length must be at least 128")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Before LIGHTNING_LORA_CACHE moves to the workdir: the fetched model lives in the user's cache.
    qwen_folder = real_model_folder(QWEN) if args.qwen_configs and not args.worker else None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="throughput-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("LIGHTNING_LORA_CACHE", str(workdir / "cache"))
    os.environ.setdefault("HF_DATASETS_CACHE", str(workdir / "hf_datasets"))
    if args.worker:
        worker(*args.worker, workdir, args.batch_size, args.threads, args.seed)
        return

    started = time.perf_counter()
    plan = {"small": (args.samples, args.configs, args.batch_size),
            "smollm2": (args.smollm2_samples, args.smollm2_configs, args.smollm2_batch_size),
            QWEN: (args.qwen_samples, args.qwen_configs, args.qwen_batch_size)}
    plan = {model: spec for model, spec in plan.items() if spec[1]}
    precisions = {model: args.qwen_precisions if model == QWEN else args.precisions for model in plan}
    paths = {model: prepare(workdir, model, samples, args.qwen_max_length, qwen_folder) if model == QWEN
             else prepare(workdir, model, samples) for model, (samples, _, _) in plan.items()}
    if "smollm2" in paths:
        paths["smollm2"]["lora_dropout"] = args.smollm2_lora_dropout
    (workdir / "paths.json").write_text(json.dumps(paths))
    load_start = os.getloadavg()[0]
    print(f"machine: {machine(args.threads)}; load average {load_start:.1f} at start")
    for model, (_, _, batch_size) in plan.items():
        spec = paths[model]
        lengths = [len(r) for r in datamodule(spec["model"], spec["data"], spec["max_length"]).splits["train"]["input_ids"]]
        print(f"data [{model}]: {len(lengths)} samples, tokens per sample median {statistics.median(lengths):.0f}, "
              f"min {min(lengths)}, max {max(lengths)}; batch {batch_size}; max_length {spec['max_length']}; "
              f"{' '.join(precisions[model])}; {args.repeats} interleaved repeats")
    runs = [(config, model, precision) for model, (_, configs, _) in plan.items()
            for precision in precisions[model] for config in configs]
    results: dict[str, list[dict[str, Any]]] = {row_name(*run): [] for run in runs}
    for repeat in range(args.repeats):
        for config, model, precision in runs:
            name = row_name(config, model, precision)
            proc = subprocess.run([sys.executable, __file__, "--worker", config, model, precision,
                                   "--workdir", str(workdir), "--batch_size", str(plan[model][2]),
                                   "--threads", str(args.threads), "--seed", str(repeat)],
                                  capture_output=True, text=True, cwd=REPO,
                                  env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
            lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                sys.exit(f"{name} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
            result = json.loads(lines[-1][len("RESULT "):])
            results[name].append(result)
            print(f"  repeat {repeat + 1} {name}: {result['target_tokens'] / result['seconds']:.0f} target tokens/s, "
                  f"{result['target_tokens'] / result['cpu_seconds']:.0f} per CPU-s, {result['seconds']:.1f} s, "
                  f"peak RSS {result['peak_rss_mb']:.0f} MB ({result['peak_rss_train_mb']:.0f} before the eval), "
                  f"eval loss {result['eval_loss']:.4f}",
                  flush=True)
    load_end = os.getloadavg()[0]
    print(f"load average {load_end:.1f} at the end")
    import torch

    from lightning_lora.callbacks.throughput import measured_cpu_peak_flops

    torch.set_num_threads(args.threads)
    peaks = {"fp32": measured_cpu_peak_flops(torch.float32), "bf16": measured_cpu_peak_flops(torch.bfloat16)}
    flops = {model: epoch_flops(paths[model]) for model in plan}
    print(f"this CPU's matmul peak with {args.threads} thread(s): fp32 {peaks['fp32'] / 1e9:.0f} GFLOP/s, "
          f"bf16 {peaks['bf16'] / 1e9:.0f} GFLOP/s; model FLOPs per epoch: "
          + ", ".join(f"{m} {f / 1e12:.3f} TFLOP" for m, f in flops.items())
          + " (MFU = FLOPs / epoch seconds / peak)")
    rows = summarize(results, flops, peaks)
    ratios = compare(rows)
    table(rows, ratios)
    if args.output:
        args.output.write_text(json.dumps({
            "command": "python benchmarks/throughput.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "machine": machine(args.threads), "load_average": {"start": load_start, "end": load_end},
            "wall_seconds": round(time.perf_counter() - started, 1),
            "peak_flops": {k: round(v) for k, v in peaks.items()}, "epoch_flops": flops,
            "rows": list(rows.values()), "ratios": ratios, "runs": results}, indent=1) + "\n")
        print(f"wrote {args.output}")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


def summarize(results: dict[str, list[dict[str, Any]]], flops: dict[str, float],
              peaks: dict[str, float]) -> dict[str, dict[str, Any]]:
    """One row per configuration x model x precision: medians over the repeats, MFU against both peaks."""
    rows = {}
    for name, runs in results.items():
        first = runs[0]
        wall = [r["target_tokens"] / r["seconds"] for r in runs]
        seconds = statistics.median(r["seconds"] for r in runs)
        rows[name] = {
            "name": name, "config": first["config"], "model": first["model"], "precision": first["precision"],
            "target_tokens_per_s": {"median": statistics.median(wall), "min": min(wall), "max": max(wall)},
            "target_tokens_per_cpu_s": statistics.median(r["target_tokens"] / r["cpu_seconds"] for r in runs),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            "peak_rss_train_mb": statistics.median(r["peak_rss_train_mb"] for r in runs), "epoch_seconds": seconds,
            "cells_without_target": statistics.median(1 - r["target_tokens"] / r["batch_tokens"] for r in runs),
            "mfu": flops[first["model"]] / seconds / peaks["bf16"], "mfu_peak": "bf16 matmul peak (measured)",
            "mfu_vs_fp32_peak": flops[first["model"]] / seconds / peaks["fp32"],
            "eval_loss": {"median": statistics.median(r["eval_loss"] for r in runs),
                          "min": min(r["eval_loss"] for r in runs), "max": max(r["eval_loss"] for r in runs)},
            "train_loss_last5": statistics.median(r["train_loss_last5"] for r in runs)}
    return rows


def compare(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The ratios the goals are stated in: lightning_lora against each HF baseline of the same model and
    precision, and lightning_lora bf16 against lightning_lora fp32."""
    ratios = []

    def add(row: dict[str, Any], ref: dict[str, Any] | None) -> None:
        if ref is not None and ref is not row:
            ratios.append({"row": row["name"], "vs": ref["name"],
                           "tokens_per_s": row["target_tokens_per_s"]["median"] / ref["target_tokens_per_s"]["median"],
                           "per_cpu_s": row["target_tokens_per_cpu_s"] / ref["target_tokens_per_cpu_s"],
                           "peak_rss": row["peak_rss_mb"] / ref["peak_rss_mb"],
                           "peak_rss_train": row["peak_rss_train_mb"] / ref["peak_rss_train_mb"]})

    for row in rows.values():
        if row["config"].startswith("hf-"):
            continue
        for ref in ("hf-maxpad", "hf-dynamic"):
            add(row, rows.get(row_name(ref, row["model"], row["precision"])))
        if row["precision"] == "bf16":
            add(row, rows.get(row_name(row["config"], row["model"], "fp32")))
    return ratios


def table(rows: dict[str, dict[str, Any]], ratios: list[dict[str, Any]]) -> None:
    """The rows and the ratios as markdown tables."""
    print("\n| row | target tokens/s (median; min-max) | per CPU-second | epoch s | batch cells without a target "
          "| MFU (bf16 peak) | MFU (fp32 peak) | peak RSS MB | before the eval | eval loss (min-max) "
          "| train loss (last 5 steps) |")
    print("|---|" + "---:|" * 10)
    for row in rows.values():
        tps, ev = row["target_tokens_per_s"], row["eval_loss"]
        print(f"| {row['name']} | {tps['median']:.0f} ({tps['min']:.0f}-{tps['max']:.0f}) | "
              f"{row['target_tokens_per_cpu_s']:.0f} | {row['epoch_seconds']:.1f} | {row['cells_without_target']:.0%} | "
              f"{row['mfu']:.1%} | {row['mfu_vs_fp32_peak']:.1%} | {row['peak_rss_mb']:.0f} | "
              f"{row['peak_rss_train_mb']:.0f} | "
              f"{ev['median']:.4f} ({ev['min']:.4f}-{ev['max']:.4f}) | {row['train_loss_last5']:.4f} |")
    if ratios:
        print("\n| row | vs | tokens/s | per CPU-s | peak RSS | before the eval |\n|---|---|---:|---:|---:|---:|")
        for r in ratios:
            print(f"| {r['row']} | {r['vs']} | {r['tokens_per_s']:.2f}x | {r['per_cpu_s']:.2f}x | {r['peak_rss']:.2f}x | "
                  f"{r['peak_rss_train']:.2f}x |")


if __name__ == "__main__":
    main()

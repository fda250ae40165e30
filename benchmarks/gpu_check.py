"""One-GPU check (H100/H200 class, no network, about 8 minutes): bf16 throughput and MFU, QLoRA, FSDP, packing.

    bash benchmarks/gpu_check.sh [--output gpu_check.json] [--workdir DIR] [--steps 30] [--only NAME ...]

Every check is a ``python -m lightning_lora fit`` of a YAML written here, in its own process with its own
time limit, on a random-init model of Qwen2.5-1.5B's shape (``Qwen2Config``: 28 layers, hidden 1536,
12 / 2 heads, MLP 8960, vocab 151936, tied; saved in bf16, no download) with the tiny offline tokenizer
and the generated ``synthetic:code`` data (max_length 1024, packed):

- ``bf16-throughput``: LoRA r16 on all 7 projections, bf16 base + bf16-mixed, batch 8; ``train/mfu`` from
  the TokenThroughput callback against the GPU's bf16 dense peak, and target tokens/s;
- ``qlora``: the same with ``model.method: qlora`` (bitsandbytes NF4 base), 20 steps; the loss must fall;
- ``fsdp``: ``configs/strategies/fsdp.yaml`` (AdapterFSDPStrategy) on one device;
- ``packing-varlen``: packed rows with ``flash_attention_2`` when flash-attn is installed (varlen
  kernels), else SDPA; the module's own packing-leak check runs at fit start;
- ``benchmark-callback``: a checkpoint at step 10 scored by the BenchmarkCallback (8 problems, sandboxed).

Writes one JSON file: per check its status (ok / failed / timeout), seconds, steps, last train loss,
median target tokens/s and MFU, peak GPU memory, and the stderr tail when it failed. Without a CUDA GPU
it prints ``no CUDA GPU: skipped``, still checks every YAML against the CLI (``--print_config``: class
paths and option types) and exits 0; CI runs that path (tests/test_gpu_check.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
QWEN25_15B = dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                  num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, tie_word_embeddings=True,
                  rope_theta=1000000.0, rms_norm_eps=1e-6)
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
#: name -> (overrides on the base config, time limit in seconds)
CHECKS: dict[str, tuple[dict[str, Any], int]] = {
    "bf16-throughput": ({}, 150),
    "qlora": ({"model.init_args.method": "qlora", "trainer.max_steps": 20}, 120),
    "fsdp": ({"trainer.strategy": {"class_path": "lightning_lora.training.strategies.AdapterFSDPStrategy",
                                   "init_args": {"sharding_strategy": "FULL_SHARD"}}, "trainer.max_steps": 10}, 90),
    "packing-varlen": ({"trainer.max_steps": 10}, 90),
    "benchmark-callback": ({"trainer.max_steps": 10, "checkpoint.every_n_train_steps": 10, "trainer.callbacks": [
        {"class_path": "lightning_lora.callbacks.benchmark.BenchmarkCallback", "init_args": {"settings": {
            "problems": "synthetic:code", "max_problems": 8, "max_new_tokens": 32, "timeout_s": 5.0}}}]}, 120),
}


def base_config(model: str, steps: int, attn: str) -> dict[str, Any]:
    return {
        "run_name": "gpu-check", "seed_everything": 0, "eval_every_n_steps": 10**6,
        "model": {"class_path": "lightning_lora.modules.causal_lm.CausalLMModule", "init_args": {
            "model_name_or_path": model, "method": "lora", "dtype": "bfloat16", "attn_implementation": attn,
            "lora": {"r": 16, "lora_alpha": 32, "lora_dropout": 0.1, "target_modules": TARGETS},
            "optimizer": {"lr": 2e-4, "scheduler": "cosine", "warmup_steps": 2}}},
        "data": {"class_path": "lightning_lora.data.code.CodeSFTDataModule", "init_args": {
            "path": "synthetic:code", "mode": "prompt_solution", "system_prompt": "You are a helpful coding assistant.",
            "max_length": 1024, "batch_size": 8, "pack": True}},
        "trainer": {"max_steps": steps, "accelerator": "gpu", "devices": 1, "precision": "bf16-mixed",
                    "log_every_n_steps": 1, "gradient_clip_val": 1.0, "limit_val_batches": 0,
                    "num_sanity_val_steps": 0, "enable_progress_bar": False},
        "checkpoint": {"every_n_train_steps": 10**6},
    }


def check_config(name: str, model: str, steps: int, attn: str) -> dict[str, Any]:
    config = base_config(model, steps, attn if name == "packing-varlen" else "sdpa")
    for key, value in CHECKS[name][0].items():
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    config["run_name"] = f"gpu-check-{name}"
    return config


def write_configs(workdir: Path, names: list[str], model: str, steps: int, attn: str) -> dict[str, Path]:
    paths = {}
    for name in names:
        path = workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(check_config(name, model, steps, attn), sort_keys=False))
        paths[name] = path
    return paths


def validate(paths: dict[str, Path]) -> dict[str, str]:
    """Each config through the CLI's parser (``--print_config``: no model is built): '' or the error line."""
    import contextlib
    import io
    import warnings

    sys.path.insert(0, str(REPO))
    from lightning_lora.training.cli import build_cli

    errors = {}
    for name, path in paths.items():
        stderr = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                build_cli(["fit", "--config", str(path), "--print_config"])
                code = 0
            except SystemExit as exit_:
                code = exit_.code or 0
            except Exception as err:  # noqa: BLE001 - any failure is this config's error line
                code, _ = 1, stderr.write(f"{type(err).__name__}: {err}")
        errors[name] = "" if code == 0 else (stderr.getvalue().strip().splitlines() or ["?"])[-1]
    return errors


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def build_model(folder: Path) -> None:
    """Qwen2.5-1.5B's shape, random init, saved in bf16 with the tiny tokenizer (no download)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from lightning_lora.models.loading import load_tokenizer

    if (folder / "config.json").exists():
        return
    tokenizer = load_tokenizer("tiny:qwen2")
    torch.manual_seed(0)
    config = Qwen2Config(**QWEN25_15B, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.eos_token_id)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def read_metrics(log_root: Path) -> dict[str, Any]:
    """Last train loss, median target tokens/s and MFU, and the summary of the run's TensorBoard log."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found: dict[str, Any] = {}
    for version in sorted(log_root.glob("version_*")):
        events = EventAccumulator(str(version), size_guidance={"scalars": 0})
        events.Reload()
        tags = events.Tags()["scalars"]

        def values(tag: str, events: Any = events, tags: Any = tags) -> list[float]:
            return [e.value for e in events.Scalars(tag)] if tag in tags else []

        losses = values("train/loss")
        found.update(first_loss=losses[0] if losses else None, last_loss=losses[-1] if losses else None,
                     steps_logged=len(losses))
        for tag, key in (("train/target_tokens_per_sec", "target_tokens_per_s"), ("train/mfu", "mfu")):
            series = values(tag)
            found[key] = statistics.median(series[1:] or series) if series else None  # the first window compiles
        summary = version / "train_summary.json"
        if summary.exists():
            found["train_summary"] = json.loads(summary.read_text())
    return found


def run_check(name: str, path: Path, workdir: Path) -> dict[str, Any]:
    limit = CHECKS[name][1]
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "lightning_lora", "fit", "--config", str(path)], cwd=workdir,
                              capture_output=True, text=True, env=_env(), timeout=limit)
        status, tail = ("ok" if proc.returncode == 0 else "failed"), proc.stderr[-3000:]
    except subprocess.TimeoutExpired as err:
        stderr = err.stderr or b""
        status, tail = "timeout", stderr[-3000:].decode(errors="replace") if isinstance(stderr, bytes) else str(stderr)[-3000:]
    result: dict[str, Any] = {"status": status, "seconds": round(time.perf_counter() - start, 1), "limit_s": limit}
    result.update(read_metrics(workdir / "tb_logs" / f"gpu-check-{name}"))
    if name == "qlora" and status == "ok" and result.get("last_loss") is not None:
        result["loss_fell"] = result["last_loss"] < result["first_loss"]
    if status != "ok":
        result["stderr_tail"] = tail
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("gpu_check.json"), help="the results file")
    parser.add_argument("--workdir", type=Path, default=None, help="model, configs and logs (default: a temporary folder)")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps of bf16-throughput (others: fewer)")
    parser.add_argument("--only", nargs="+", default=list(CHECKS), choices=list(CHECKS), help="checks to run")
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first window of the throughput callback warms up)")
    if args.output.exists() and args.output.is_dir():
        parser.error(f"--output {args.output} is a folder; give a file path")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    workdir.mkdir(parents=True, exist_ok=True)
    model_dir = workdir / "qwen2.5-1.5b-shaped"
    has_gpu = torch.cuda.is_available()
    attn = "flash_attention_2" if has_gpu and _has("flash_attn") else "sdpa"
    paths = write_configs(workdir, args.only, str(model_dir), args.steps, attn)
    errors = validate(paths)
    bad = {name: error for name, error in errors.items() if error}
    for name, error in bad.items():
        print(f"error: {paths[name]}: {error}", file=sys.stderr)
    report: dict[str, Any] = {"configs_valid": not bad, "checks": {}}
    if bad:
        args.output.write_text(json.dumps({**report, "config_errors": bad}, indent=1) + "\n")
        return 1
    if not has_gpu:
        print(f"no CUDA GPU: skipped ({len(paths)} check configs validated: {', '.join(paths)})")
        args.output.write_text(json.dumps({**report, "skipped": "no CUDA GPU"}, indent=1) + "\n")
        return 0
    started = time.perf_counter()
    report.update(device=torch.cuda.get_device_name(0), torch=torch.__version__, attn_implementation_packing=attn,
                  bitsandbytes=_has("bitsandbytes"), model="Qwen2.5-1.5B-shaped, random init, bf16")
    build_model(model_dir)
    report["model_build_s"] = round(time.perf_counter() - started, 1)
    for name, path in paths.items():
        report["checks"][name] = result = run_check(name, path, workdir)
        print(f"{name}: {result['status']} in {result['seconds']} s; tokens/s {result.get('target_tokens_per_s')}, "
              f"MFU {result.get('mfu')}, loss {result.get('first_loss')} -> {result.get('last_loss')}", flush=True)
        args.output.write_text(json.dumps(report, indent=1) + "\n")  # partial results survive a later kill
    report["wall_s"] = round(time.perf_counter() - started, 1)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.output} ({report['wall_s']} s)")
    return 0 if all(r["status"] == "ok" for r in report["checks"].values()) else 1


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    sys.exit(main())

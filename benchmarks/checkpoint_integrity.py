"""What the checkpoint digests cost (issue 28): save, load and digest time of real-sized checkpoints, and the ratio.

    .venv/bin/python benchmarks/checkpoint_integrity.py [--workdir /tmp/ll_integrity] [--repeats 5]
        [--smollm2_checkpoint checkpoints/<run>/last.ckpt] [--skip_full] [--only checkpoints|exports]

Three checkpoints, each as ``fit`` writes it (trainable weights, AdamW state, metadata with digests):

- ``smollm2-135m lora r16``: a real one, from a one-step fit of ``configs/smollm2-135m-code.yaml`` (the fetched
  ``real:smollm2-135m-instruct``; LoRA r16 on all seven projections) in ``--workdir``, unless
  ``--smollm2_checkpoint`` names one;
- ``qwen2.5-0.5b lora r16``: synthetic, the exact LoRA shapes of Qwen2.5-0.5B (24 layers, hidden 896,
  intermediate 4864, 2 KV heads of 64) on all seven projections: 8,798,208 fp32 parameters + AdamW's two moments;
- ``qwen2.5-0.5b full``: synthetic, every weight of Qwen2.5-0.5B trainable (494,032,768 fp32 parameters, tied
  embedding) + AdamW's two moments: about 5.9 GB. ``--skip_full`` leaves it out (it needs ~8 GB of RAM, 6 GB of disk).

For each: ``save`` is the checkpoint writer fit uses (AtomicCheckpointIO: temporary file, fsync, rename), ``digest``
what ``on_save_checkpoint`` adds (the digests of weights and optimizer state). ``load`` is Lightning's read for a
resume or ``validate`` (``torch.load`` of the whole file, page cache warm: the file was just written). What a read
adds: ``resume check`` (``fit --ckpt_path``: weights and optimizer state checked on the memory-mapped file
``resolve_ckpt_path`` opens, before any model loads; Lightning's own read of the unchanged file is not hashed again),
``weights check`` (``validate`` / ``test`` / ``predict`` / ``generate`` / ``export`` / ``benchmark``: the weights
only, same way), and ``loaded-dict check`` (both parts on the dict ``torch.load`` returned: what
``on_load_checkpoint`` costs when a Trainer is given the file directly). Medians of ``--repeats`` runs (at most 2
for the full one); ``blake2b`` is the digest time with hashlib's blake2b instead of XXH3-128, for the choice of hash.

Exports (:func:`measure_exports`): the SmolLM2 checkpoint exported as an adapter and merged, timed as the whole
``export`` command against the digests of its weight files, and read back as ``generate --model`` reads it against
the check; and a merged-weights file the size of Qwen2.5-0.5B's (fp32 safetensors) written, read and digested.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lightning_lora.checkpoints.atomic_io import AtomicCheckpointIO  # noqa: E402
from lightning_lora.checkpoints.integrity import DIGEST_KEY, checkpoint_digests, damaged_parts  # noqa: E402
from lightning_lora.checkpoints.reading import EVERYTHING, METADATA_KEY, WEIGHTS, load_checkpoint_file  # noqa: E402

# Qwen2.5-0.5B: 24 layers, hidden 896, intermediate 4864, 14 heads / 2 KV heads of 64, vocab 151936, tied embedding.
LAYERS, HIDDEN, INTERMEDIATE, KV, VOCAB = 24, 896, 4864, 128, 151936
PROJECTIONS = {"self_attn.q_proj": (HIDDEN, HIDDEN), "self_attn.k_proj": (HIDDEN, KV), "self_attn.v_proj": (HIDDEN, KV),
               "self_attn.o_proj": (HIDDEN, HIDDEN), "mlp.gate_proj": (HIDDEN, INTERMEDIATE),
               "mlp.up_proj": (HIDDEN, INTERMEDIATE), "mlp.down_proj": (INTERMEDIATE, HIDDEN)}


def _tensor(*shape: int) -> torch.Tensor:
    return torch.empty(*shape).uniform_(-0.02, 0.02)


def qwen05b_lora_state(r: int = 16) -> dict[str, torch.Tensor]:
    """Qwen2.5-0.5B's LoRA adapters (PEFT's names, as the module's state_dict has them)."""
    state = {}
    for layer in range(LAYERS):
        for proj, (fan_in, fan_out) in PROJECTIONS.items():
            prefix = f"model.base_model.model.model.layers.{layer}.{proj}"
            state[f"{prefix}.lora_A.default.weight"] = _tensor(r, fan_in)
            state[f"{prefix}.lora_B.default.weight"] = _tensor(fan_out, r)
    return state


def qwen05b_full_state() -> dict[str, torch.Tensor]:
    """Every weight of Qwen2.5-0.5B (the embedding tied to the head, so stored once): 494,032,768 parameters."""
    state = {"model.model.embed_tokens.weight": _tensor(VOCAB, HIDDEN), "model.model.norm.weight": _tensor(HIDDEN)}
    for layer in range(LAYERS):
        prefix = f"model.model.layers.{layer}"
        for proj, (fan_in, fan_out) in PROJECTIONS.items():
            state[f"{prefix}.{proj}.weight"] = _tensor(fan_out, fan_in)
            if proj in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                state[f"{prefix}.{proj}.bias"] = _tensor(fan_out)
        state[f"{prefix}.input_layernorm.weight"] = _tensor(HIDDEN)
        state[f"{prefix}.post_attention_layernorm.weight"] = _tensor(HIDDEN)
    return state


def as_checkpoint(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """A checkpoint as fit writes it around ``state``: AdamW's state_dict (step, two moments per parameter), a
    scheduler, loop state, and the metadata block with its digests."""
    optimizer = {"state": {i: {"step": torch.tensor(20.0), "exp_avg": torch.empty_like(t).uniform_(-1e-3, 1e-3),
                               "exp_avg_sq": torch.empty_like(t).uniform_(0, 1e-6)} for i, t in enumerate(state.values())},
                 "param_groups": [{"lr": 2e-4, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
                                   "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
                                   "fused": None, "params": list(range(len(state)))}]}
    checkpoint = {"epoch": 0, "global_step": 20, "pytorch-lightning_version": "2.6.6", "state_dict": state,
                  "loops": {}, "callbacks": {}, "optimizer_states": [optimizer],
                  "lr_schedulers": [{"base_lrs": [2e-4], "last_epoch": 20}]}
    checkpoint[METADATA_KEY] = {"trainable_keys": sorted(state)}
    checkpoint[METADATA_KEY][DIGEST_KEY] = checkpoint_digests(checkpoint)
    return checkpoint


def smollm2_checkpoint(workdir: Path) -> Path:
    """A one-step fit of the SmolLM2 code config (LoRA r16, all projections) through the real CLI."""
    path = workdir / "checkpoints" / "integrity-smollm2" / "last.ckpt"
    if path.is_file():
        return path
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "lightning_lora", "fit", "--config", str(REPO / "configs" / "smollm2-135m-code.yaml"),
               "--run_name", "integrity-smollm2", "--trainer.max_steps", "1", "--checkpoint.every_n_train_steps", "1",
               "--trainer.callbacks", "[]", "--data.batch_size", "1", "--trainer.limit_val_batches", "0",
               "--trainer.enable_progress_bar", "false"]
    subprocess.run(command, cwd=workdir, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return path


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(name: str, checkpoint: dict[str, Any], target: Path, repeats: int) -> dict[str, Any]:
    """Save, digest, load and check ``checkpoint`` ``repeats`` times (interleaved, so a busy moment of a shared
    machine hits all of them alike); medians."""
    io = AtomicCheckpointIO()
    checkpoint[METADATA_KEY][DIGEST_KEY] = checkpoint_digests(checkpoint)  # as on_save_checkpoint records them
    recorded = checkpoint[METADATA_KEY][DIGEST_KEY]
    params = sum(t.numel() for t in checkpoint["state_dict"].values())
    times: dict[str, list[float]] = {key: [] for key in ("save", "digest")}
    for _ in range(repeats):
        times["digest"].append(_timed(partial(checkpoint_digests, checkpoint))[0])
        times["save"].append(_timed(partial(io.save_checkpoint, checkpoint, target))[0])
    blake = _timed(partial(checkpoint_digests, checkpoint, algorithm="blake2b"))[0]
    del checkpoint
    gc.collect()
    times.update({key: [] for key in ("load", "verify", "resume_check", "weights_check")})
    for _ in range(repeats):
        took, loaded = _timed(partial(torch.load, target, map_location="cpu", weights_only=True))  # Lightning's read
        times["load"].append(took)
        took, damaged = _timed(partial(damaged_parts, loaded, recorded))  # on_load_checkpoint, Trainer used directly
        times["verify"].append(took)
        assert damaged == [], damaged
        del loaded
        gc.collect()
        for key, parts in (("resume_check", EVERYTHING), ("weights_check", WEIGHTS)):
            mapped = load_checkpoint_file(target)  # what read_checkpoint opens (tensors memory-mapped), freshly mapped
            times[key].append(_timed(partial(damaged_parts, mapped, recorded, parts))[0])
            del mapped
    row = {key: statistics.median(values) for key, values in times.items()}
    row.update(checkpoint=name, trainable=params, mb=target.stat().st_size / 1e6, blake2b=blake)
    print(f"{name}: {row['mb']:.0f} MB, save {row['save']:.3f} s, digest {row['digest']:.3f} s "
          f"({row['digest'] / row['save']:.1%}); load {row['load']:.3f} s, resume check {row['resume_check']:.3f} s "
          f"({row['resume_check'] / row['load']:.1%}), weights check {row['weights_check']:.3f} s "
          f"({row['weights_check'] / row['load']:.1%}), check of the loaded dict {row['verify']:.3f} s "
          f"({row['verify'] / row['load']:.1%}); blake2b digest {blake:.3f} s", flush=True)
    target.unlink()
    return row


def measure_exports(ckpt: Path, workdir: Path, repeats: int) -> list[dict[str, Any]]:
    """The real SmolLM2 checkpoint exported as an adapter and merged (``export``, whose time includes building the
    model and the digests), then read back as ``generate --model`` does (``load_exported``, which checks them); and a
    merged-model file of Qwen2.5-0.5B's size (fp32 safetensors, synthetic) written, read and digested alone."""
    from safetensors.torch import load_file, save_file

    from lightning_lora.__main__ import main as cli
    from lightning_lora.checkpoints.integrity import damaged_files, file_digest, folder_digests
    from lightning_lora.export.reader import load_exported, read_export_record

    rows = []
    for merge in (False, True):
        out = workdir / ("export-merged" if merge else "export-adapter")
        shutil.rmtree(out, ignore_errors=True)
        argv = ["export", "--ckpt_path", str(ckpt), "--output", str(out)] + (["--merge"] if merge else [])
        took, status = _timed(partial(cli, argv))
        assert status == 0, argv
        recorded = read_export_record(out)[DIGEST_KEY]
        digest = statistics.median(_timed(partial(folder_digests, out))[0] for _ in range(repeats))
        load = _timed(partial(load_exported, out))[0]
        check = statistics.median(_timed(partial(damaged_files, out, recorded))[0] for _ in range(repeats))
        size = sum((out / name).stat().st_size for name in recorded["files"])
        rows.append({"export": f"smollm2-135m lora r16 (real), {'merged' if merge else 'adapter'}", "mb": size / 1e6,
                     "write": took, "digest": digest, "load": load, "check": check,
                     "what": "export command / generate --model load"})
    path = workdir / "qwen-merged.safetensors"
    state = {k.removeprefix("model."): v for k, v in qwen05b_full_state().items()}
    write = statistics.median(_timed(partial(save_file, state, str(path)))[0] for _ in range(min(repeats, 3)))
    del state
    gc.collect()
    digest = statistics.median(_timed(partial(file_digest, path))[0] for _ in range(repeats))

    def read() -> None:  # load_file maps the file; from_pretrained then copies every tensor into the model
        for tensor in load_file(str(path)).values():
            tensor.clone()

    load = statistics.median(_timed(read)[0] for _ in range(min(repeats, 3)))
    rows.append({"export": "qwen2.5-0.5b merged weights (synthetic, fp32)", "mb": path.stat().st_size / 1e6,
                 "write": write, "digest": digest, "load": load, "check": digest,
                 "what": "safetensors save_file / load_file + a copy of each tensor"})
    path.unlink()
    for r in rows:
        print(f"{r['export']}: {r['mb']:.0f} MB of weights, write {r['write']:.3f} s, digest {r['digest']:.3f} s "
              f"({r['digest'] / r['write']:.1%}); load {r['load']:.3f} s, check {r['check']:.3f} s "
              f"({r['check'] / r['load']:.1%})", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ll_integrity"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smollm2_checkpoint", type=Path, default=None)
    parser.add_argument("--skip_full", action="store_true", help="leave out the 494M-parameter checkpoint")
    parser.add_argument("--only", choices=("checkpoints", "exports"), default=None)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    smol = args.smollm2_checkpoint or smollm2_checkpoint(args.workdir)
    if args.only != "exports":
        measure_checkpoints(smol, args)
    if args.only != "checkpoints":
        rows = measure_exports(smol, args.workdir, args.repeats)
        print("\n| export | weight files MB | write s | digest s | digest / write | load s | check s | check / load |"
              " write / load are |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            print(f"| {r['export']} | {r['mb']:.0f} | {r['write']:.3f} | {r['digest']:.3f} | {r['digest'] / r['write']:.1%} "
                  f"| {r['load']:.3f} | {r['check']:.3f} | {r['check'] / r['load']:.1%} | {r['what']} |")


def measure_checkpoints(smol: Path, args: argparse.Namespace) -> None:
    rows = []
    real = torch.load(smol, map_location="cpu", weights_only=True)
    rows.append(measure("smollm2-135m lora r16 (real)", real, args.workdir / "smollm2.ckpt", args.repeats))
    del real
    rows.append(measure("qwen2.5-0.5b lora r16 (synthetic)", as_checkpoint(qwen05b_lora_state()),
                        args.workdir / "qwen-lora.ckpt", args.repeats))
    if not args.skip_full:
        gc.collect()
        rows.append(measure("qwen2.5-0.5b full (synthetic)", as_checkpoint(qwen05b_full_state()),
                            args.workdir / "qwen-full.ckpt", min(args.repeats, 2)))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"\n{cpu}, {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| checkpoint | trainable params | file MB | save s | digest s | digest / save | load s | resume check s "
          "| / load | weights check s | / load | loaded-dict check s | / load | blake2b digest s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['checkpoint']} | {r['trainable']:,} | {r['mb']:.0f} | {r['save']:.3f} | {r['digest']:.3f} | "
              f"{r['digest'] / r['save']:.1%} | {r['load']:.3f} | {r['resume_check']:.3f} | "
              f"{r['resume_check'] / r['load']:.1%} | {r['weights_check']:.3f} | {r['weights_check'] / r['load']:.1%} | "
              f"{r['verify']:.3f} | {r['verify'] / r['load']:.1%} | {r['blake2b']:.3f} |")


if __name__ == "__main__":
    main()

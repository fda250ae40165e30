"""Training loss in fp32 and bf16 on the code quickstart, plotted together (benchmarks/precision_curves.png).

    .venv/bin/python benchmarks/precision_curves.py [--max_steps 300] [--output benchmarks/precision_curves.png]

Three fits of ``configs/quickstart.yaml``: fp32 with seeds 0 and 1 (the seed-to-seed noise) and bf16
(``model.dtype: bfloat16``, ``trainer.precision: bf16-mixed``) with seed 0. Prints the final train and
validation losses and the largest gap between the curves, and writes the plot.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BF16 = ["--model.init_args.dtype", "bfloat16", "--trainer.precision", "bf16-mixed"]
RUNS = {"fp32 seed 0": (0, []), "fp32 seed 1": (1, []), "bf16 seed 0": (0, BF16)}


def scalars(log_dir: Path, tag: str) -> dict[int, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {e.step: e.value for e in events.Scalars(tag)} if tag in events.Tags()["scalars"] else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max_steps", type=int, default=300)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "precision_curves.png")
    args = parser.parse_args()
    curves: dict[str, tuple[dict[int, float], dict[int, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="precision-curves-") as work:
        for label, (seed, extra) in RUNS.items():
            run_name = label.replace(" ", "-")
            subprocess.run([sys.executable, "-m", "lightning_lora", "fit", "--config", str(REPO / "configs/quickstart.yaml"),
                            "--run_name", run_name, "--seed_everything", str(seed),
                            "--trainer.max_steps", str(args.max_steps), *extra],
                           cwd=work, check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
            log_dir = next(Path(work, "tb_logs", run_name).glob("version_*"))
            curves[label] = scalars(log_dir, "train/loss"), scalars(log_dir, "val/loss")
    for label, (train, val) in curves.items():
        last = max(train)
        print(f"{label}: train/loss at step {last} {train[last]:.4f}; val/loss "
              + ", ".join(f"{step}: {v:.4f}" for step, v in sorted(val.items())[-3:]))
    fp32, other_seed, bf16 = (curves[k][0] for k in RUNS)
    steps = sorted(set(fp32) & set(bf16) & set(other_seed))
    late = [s for s in steps if s >= steps[len(steps) // 2]]
    print(f"mean |train loss gap| over the second half: bf16 vs fp32 (seed 0) "
          f"{sum(abs(bf16[s] - fp32[s]) for s in late) / len(late):.4f}; fp32 seed 1 vs seed 0 "
          f"{sum(abs(other_seed[s] - fp32[s]) for s in late) / len(late):.4f}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for label, (train, val) in curves.items():
        line, = axes.plot(sorted(train), [train[s] for s in sorted(train)], label=f"{label} train", linewidth=1)
        axes.plot(sorted(val), [val[s] for s in sorted(val)], "o--", color=line.get_color(), markersize=3,
                  label=f"{label} val")
    axes.set_yscale("log")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss")
    axes.set_title("configs/quickstart.yaml: fp32 vs bf16 (bf16 base, bf16-mixed)")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

"""Compare training runs (e.g. one config under several methods): one table and loss / metric plots.

Everything is read back from the run folders a ``fit`` wrote (``params.json``,
``train_summary.json``, TensorBoard or CSV logger scalars), so runs can be compared long after they ended.
"""

from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path
from typing import Any

from lightning_lora.errors import UserError

#: Task metrics looked for, in order; the first one a run logged is its "task metric".
TASK_METRICS = ("benchmark/pass@1", "val/accuracy", "val/f1")


def read_scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """All scalars of a run folder, TensorBoard events and a CSV logger's ``metrics.csv`` alike: tag ->
    [(step, value)], in step order, later files winning."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars: dict[str, dict[int, float]] = {}
    for events in sorted(run.glob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            scalars.setdefault(tag, {}).update({e.step: e.value for e in accumulator.Scalars(tag)})
    for tag, values in _csv_scalars(run / "metrics.csv").items():
        scalars.setdefault(tag, {}).update(values)
    return {tag: sorted(values.items()) for tag, values in scalars.items()}


def _csv_scalars(path: Path) -> dict[str, dict[int, float]]:
    """The scalars of Lightning's CSVLogger file: one row per logging call, a ``step`` column, empty cells for the
    metrics that call did not log."""
    if not path.is_file():
        return {}
    scalars: dict[str, dict[int, float]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            step = row.get("step")
            if not step:
                continue
            for tag, value in row.items():
                if tag != "step" and value not in (None, ""):
                    with contextlib.suppress(ValueError):
                        scalars.setdefault(tag, {})[int(float(step))] = float(value)
    return scalars


def _is_run_folder(run: Path) -> bool:
    return run.is_dir() and (any(run.glob("events.out.tfevents.*")) or (run / "metrics.csv").is_file())


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def summarize_run(run: Path) -> dict[str, Any]:
    """One row of the comparison: parameters, time, memory, throughput, losses, task metric."""
    if not _is_run_folder(run):
        raise UserError(f"{run} is not a training run folder (no TensorBoard events, no CSV logger's metrics.csv); "
                        "give tb_logs/<run>/version_N.")
    params, summary, scalars = _json(run / "params.json"), _json(run / "train_summary.json"), read_scalars(run)

    def last(tag: str) -> float | None:
        return scalars[tag][-1][1] if scalars.get(tag) else None

    def median(tag: str) -> float | None:
        values = sorted(v for _, v in scalars.get(tag, []))
        return values[len(values) // 2] if values else None

    metric_tag = next((t for t in TASK_METRICS if scalars.get(t)), None)
    return {
        "run": str(run), "name": run.parent.name, "method": params.get("method", summary.get("method", "?")),
        "trainable_params": params.get("trainable_params"), "trainable_percent": params.get("trainable_percent"),
        "train_time_s": summary.get("train_time_s"), "peak_rss_mb": summary.get("peak_rss_mb"),
        "peak_cuda_mb": summary.get("peak_cuda_mb"), "tokens_per_sec": median("train/tokens_per_sec"),
        "final_train_loss": last("train/loss"), "val_loss": last("val/loss"), "val_perplexity": last("val/perplexity"),
        "metric_name": metric_tag, "metric_last": last(metric_tag) if metric_tag else None,
        "metric_best": max(v for _, v in scalars[metric_tag]) if metric_tag else None, "scalars": scalars,
    }


def _fmt(value: Any, pattern: str = "{:.4g}") -> str:
    return "-" if value is None else pattern.format(value)


def comparison_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one line per run."""
    header = ("| run | method | trainable params | trainable % | train time (s) | peak RSS (MB) | peak GPU (MB) | "
              "tokens/s (median) | final train loss | val loss | val perplexity | task metric | last | best |")
    lines = [header, "|" + "---|" * 2 + "---:|" * 12]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['method']} | {_fmt(r['trainable_params'], '{:,}')} | {_fmt(r['trainable_percent'], '{:.3f}')} | "
            f"{_fmt(r['train_time_s'], '{:.1f}')} | {_fmt(r['peak_rss_mb'], '{:.0f}')} | {_fmt(r['peak_cuda_mb'], '{:.0f}')} | "
            f"{_fmt(r['tokens_per_sec'], '{:.0f}')} | {_fmt(r['final_train_loss'])} | {_fmt(r['val_loss'])} | "
            f"{_fmt(r['val_perplexity'])} | {r['metric_name'] or '-'} | {_fmt(r['metric_last'])} | {_fmt(r['metric_best'])} |")
    return "\n".join(lines)


def save_loss_plot(named_scalars: list[tuple[str, dict[str, list[tuple[int, float]]]]], path: Path,
                   log_scale: bool = False) -> Path:
    """One PNG, two panels (train/loss, val/loss per step), a line per named run; returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, tag in zip(axes, ("train/loss", "val/loss")):
        for name, scalars in named_scalars:
            points = scalars.get(tag, [])
            if points:
                ax.plot([s for s, _ in points], [v for _, v in points], label=name,
                        marker="o" if tag == "val/loss" else None, markersize=3)
        ax.set_title(tag)
        ax.set_xlabel("step")
        if log_scale:
            ax.set_yscale("log")
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_runs(rows: list[dict[str, Any]], output_dir: Path) -> list[Path]:
    """PNGs: train and val loss per step for every run overlaid, and the task metric per checkpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = [save_loss_plot([(r["name"], r["scalars"]) for r in rows], output_dir / "losses.png", log_scale=True)]
    metric_rows = [r for r in rows if r["metric_name"]]
    if metric_rows:
        fig, ax = plt.subplots(figsize=(6, 4))
        for r in metric_rows:
            points = r["scalars"][r["metric_name"]]
            ax.plot([s for s, _ in points], [v for _, v in points], marker="o", markersize=3,
                    label=f"{r['name']} ({r['metric_name']})")
        ax.set_xlabel("step")
        ax.set_title("task metric per checkpoint / validation")
        ax.legend(fontsize=7)
        fig.tight_layout()
        files.append(output_dir / "metric.png")
        fig.savefig(files[-1], dpi=110)
        plt.close(fig)
    return files


def compare_runs(runs: list[Path], output_dir: Path) -> tuple[str, list[Path]]:
    """Write ``comparison.md`` + plots into ``output_dir``; return the table and the files written."""
    rows = [summarize_run(run) for run in runs]
    output_dir.mkdir(parents=True, exist_ok=True)
    table = comparison_table(rows)
    (output_dir / "comparison.md").write_text(table + "\n")
    (output_dir / "comparison.json").write_text(json.dumps([{k: v for k, v in r.items() if k != "scalars"} for r in rows],
                                                           indent=2) + "\n")
    return table, [output_dir / "comparison.md", output_dir / "comparison.json", *plot_runs(rows, output_dir)]

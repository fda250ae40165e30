"""What a run's checkpoints came to, read from its files: disk and time of the per-checkpoint evaluations, and the
per-checkpoint table (deleted checkpoints included). Read-only; :mod:`~lightning_lora.checkpoints.run_folder` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_lora.checkpoints.reading import STEP_PATTERN
from lightning_lora.checkpoints.run_folder import BEST_LINK, read_scores
from lightning_lora.files import link_target


def evaluation_summary(ckpt_dir: Path) -> dict[str, Any]:
    """Disk and time of the per-checkpoint evaluations, for a run's summary: checkpoints written / kept,
    bytes written / kept / freed, seconds per evaluation kind (total and mean)."""
    scores = read_scores(ckpt_dir)
    written = sum(e.get("bytes", 0) for e in scores.values())
    on_disk = sum(p.stat().st_size for p in ckpt_dir.glob("*.ckpt") if p.is_file() and not p.is_symlink())
    step_files = [p for p in ckpt_dir.glob("*.ckpt") if STEP_PATTERN.search(p.name)]
    side_files = [p for p in ckpt_dir.iterdir() if p.name.endswith((".results.json", ".samples.jsonl", ".lm_eval.json"))]
    kinds: dict[str, list[float]] = {}
    for entry in scores.values():
        for kind, seconds in entry.get("seconds", {}).items():
            kinds.setdefault(kind, []).append(seconds)
    return {
        "checkpoints_scored": len(scores),
        "checkpoints_deleted": sum(1 for e in scores.values() if e.get("deleted")),
        "step_checkpoints_kept": len(step_files),
        "last_kept": (ckpt_dir / "last.ckpt").is_file(),
        "checkpoint_bytes_written": written,
        "checkpoint_bytes_on_disk": on_disk,
        "checkpoint_bytes_freed": sum(e.get("bytes", 0) for e in scores.values() if e.get("deleted")),
        "result_files_bytes": sum(p.stat().st_size for p in side_files),
        "evaluation_seconds": {kind: {"total": round(sum(v), 2), "mean": round(sum(v) / len(v), 2), "count": len(v)}
                               for kind, v in sorted(kinds.items())},
    }


def summary_line(summary: dict[str, Any]) -> str:
    """One line for the end of fit."""
    times = ", ".join(f"{kind} {v['mean']:.1f}s x{v['count']}" for kind, v in summary["evaluation_seconds"].items())
    last = " + last" if summary.get("last_kept", True) else ""  # summaries written before last_kept had one
    return (f"checkpoints: {summary['step_checkpoints_kept']} kept{last} of {summary['checkpoints_scored']} evaluated, "
            f"{_mb(summary['checkpoint_bytes_on_disk'])} on disk ({_mb(summary['checkpoint_bytes_freed'])} freed, "
            f"results {_mb(summary['result_files_bytes'])}); evaluation per checkpoint: {times or 'none'}")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def scores_table(ckpt_dir: Path, columns: list[str] | None = None) -> str:
    """Markdown table of every scored checkpoint (deleted ones too): step, chosen metrics, kept / best."""
    scores = read_scores(ckpt_dir)
    best = link_target(ckpt_dir / BEST_LINK)
    if columns is None:
        seen = {k for e in scores.values() for k in e["metrics"]}
        columns = [c for c in ("benchmark/pass@1", "benchmark/truncated", "val/loss", "val/accuracy") if c in seen]
        columns += sorted(k for k in seen if k.startswith("lm_eval/"))
    lines = ["| step | " + " | ".join(columns) + " | file |", "|---:|" + "---:|" * len(columns) + "---|"]
    for name, entry in sorted(scores.items(), key=lambda item: item[1]["step"]):
        values = [("-" if c not in entry["metrics"] else f"{entry['metrics'][c]:.0f}" if c == "benchmark/truncated"
                   else f"{entry['metrics'][c]:.4f}") for c in columns]
        state = "deleted" if entry.get("deleted") or not (ckpt_dir / name).exists() else "kept"
        lines.append(f"| {entry['step']} | " + " | ".join(values) + f" | {state}{' (best)' if name == best else ''} |")
    return "\n".join(lines)

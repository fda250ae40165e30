"""Which checkpoints a run keeps: every checkpoint's scores in ``scores.json``, and keep-best-k by one metric.

A checkpoint's score is known only after it is evaluated (its benchmark, its validation, its lm-eval tasks),
so scores are recorded as they arrive and the files of checkpoints outside the best ``k`` are deleted then.
Their results and samples files stay, so the per-checkpoint table keeps every point. No Lightning here.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning_lora.checkpoints import STEP_PATTERN
from lightning_lora.errors import UserError

SCORES_FILE = "scores.json"
MODES = ("min", "max")


def read_scores(ckpt_dir: Path) -> dict[str, dict[str, Any]]:
    """``{checkpoint name: {"step", "metrics", "seconds", "bytes", "deleted"}}`` for every checkpoint scored so far."""
    path = ckpt_dir / SCORES_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_scores(ckpt_dir: Path, scores: dict[str, dict[str, Any]]) -> None:
    path = ckpt_dir / SCORES_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(scores, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def record(ckpt_dir: Path, checkpoint: str, step: int, metrics: dict[str, float] | None = None,
           seconds: dict[str, float] | None = None) -> None:
    """Merge ``metrics`` (finite numbers only) and evaluation ``seconds`` (by kind) into ``checkpoint``'s entry."""
    scores = read_scores(ckpt_dir)
    entry = scores.setdefault(checkpoint, {"step": step, "metrics": {}, "seconds": {}})
    entry["metrics"].update({k: float(v) for k, v in (metrics or {}).items() if math.isfinite(float(v))})
    entry["seconds"].update({k: round(float(v), 3) for k, v in (seconds or {}).items()})
    path = ckpt_dir / checkpoint
    if path.is_file() and not path.is_symlink():
        entry["bytes"] = path.stat().st_size
    _write_scores(ckpt_dir, scores)


@dataclass(frozen=True)
class KeepBest:
    """Keep the ``save_top_k`` step checkpoints with the best ``monitor`` (``-1``: keep all) and point ``best``
    at the first of them. Checkpoints not scored yet are kept; ties keep the earlier step (fewer steps, same score).

    Args:
        monitor: a metric recorded per checkpoint (``benchmark/pass@1``, ``val/loss``, ``lm_eval/<task>/acc``).
        mode: ``max`` when higher is better, ``min`` when lower is.
        save_top_k: how many scored checkpoints to keep; ``-1`` keeps every one.
    """

    monitor: str
    mode: str = "min"
    save_top_k: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"--checkpoint.mode must be min or max, got {self.mode!r}.")
        if self.save_top_k < -1 or self.save_top_k == 0:
            raise UserError(f"--checkpoint.save_top_k must be -1 (keep all) or at least 1 with --checkpoint.monitor, "
                            f"got {self.save_top_k}.")

    def ranked(self, scores: dict[str, dict[str, Any]]) -> list[str]:
        """The checkpoints that have the monitored metric, best first."""
        sign = -1.0 if self.mode == "max" else 1.0
        have = [(sign * e["metrics"][self.monitor], e["step"], name) for name, e in scores.items()
                if self.monitor in e.get("metrics", {})]
        return [name for _, _, name in sorted(have)]

    def apply(self, ckpt_dir: Path) -> list[str]:
        """Delete the scored step checkpoints outside the best ``save_top_k``, point ``best`` at the top one;
        return the names deleted now. ``last`` and a checkpoint ``last`` links to are never deleted."""
        scores = read_scores(ckpt_dir)
        ranked = [name for name in self.ranked(scores) if (ckpt_dir / name).is_file()]
        if not ranked:
            return []
        protected = {_link_target(ckpt_dir / "last.ckpt")}
        keep = set(ranked if self.save_top_k == -1 else ranked[: self.save_top_k]) | protected
        point_best(ckpt_dir, ranked[0], scores[ranked[0]], self)
        deleted = []
        for name in ranked:
            if name not in keep and STEP_PATTERN.search(name):
                (ckpt_dir / name).unlink()
                scores[name]["deleted"] = True
                deleted.append(name)
        if deleted:
            _write_scores(ckpt_dir, scores)
        return deleted


def _link_target(path: Path) -> str | None:
    return os.readlink(path) if path.is_symlink() else None


def point_best(ckpt_dir: Path, name: str, entry: dict[str, Any], keep: KeepBest) -> None:
    """``best`` -> ``name`` and ``best.json`` with its monitored score (and pass@1 where it was benchmarked)."""
    metrics = entry["metrics"]
    record_ = {"checkpoint": name, "step": entry["step"], "monitor": keep.monitor, "mode": keep.mode,
               "score": metrics[keep.monitor]}
    if "benchmark/pass@1" in metrics:
        record_["pass@1"] = metrics["benchmark/pass@1"]
    results = ckpt_dir / (Path(name).stem + ".results.json")
    if results.is_file():
        record_["results"] = results.name
    path = ckpt_dir / "best.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record_, indent=2) + "\n")
    tmp.replace(path)
    link = ckpt_dir / "best"
    if _link_target(link) == name:
        return
    tmp_link = ckpt_dir / ".best.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(name, tmp_link)
    tmp_link.replace(link)


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
    return (f"checkpoints: {summary['step_checkpoints_kept']} kept + last of {summary['checkpoints_scored']} evaluated, "
            f"{_mb(summary['checkpoint_bytes_on_disk'])} on disk ({_mb(summary['checkpoint_bytes_freed'])} freed, "
            f"results {_mb(summary['result_files_bytes'])}); evaluation per checkpoint: {times or 'none'}")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def scores_table(ckpt_dir: Path, columns: list[str] | None = None) -> str:
    """Markdown table of every scored checkpoint (deleted ones too): step, chosen metrics, kept / best."""
    scores = read_scores(ckpt_dir)
    best = _link_target(ckpt_dir / "best")
    if columns is None:
        seen = {k for e in scores.values() for k in e["metrics"]}
        columns = [c for c in ("benchmark/pass@1", "val/loss", "val/accuracy") if c in seen]
        columns += sorted(k for k in seen if k.startswith("lm_eval/"))
    lines = ["| step | " + " | ".join(columns) + " | file |", "|---:|" + "---:|" * len(columns) + "---|"]
    for name, entry in sorted(scores.items(), key=lambda item: item[1]["step"]):
        values = [f"{entry['metrics'][c]:.4f}" if c in entry["metrics"] else "-" for c in columns]
        state = "deleted" if entry.get("deleted") or not (ckpt_dir / name).exists() else "kept"
        lines.append(f"| {entry['step']} | " + " | ".join(values) + f" | {state}{' (best)' if name == best else ''} |")
    return "\n".join(lines)

"""The one writer of a run folder's shared records: every checkpoint's scores (``scores.json``), ``best`` and
``best.json``, keep-best-k deletions, the end-of-fit summaries and the early-stop note.

A checkpoint's score is known only after it is evaluated (its benchmark, its validation, its lm-eval tasks), so
scores are recorded as they arrive, possibly by another process than the one training (an evaluation beside
the fit, a later ``benchmark --checkpoints_dir``). Every read-change-write of these records holds a lock on the
folder itself (:func:`~lightning_lora.files.locked`: no lock file is left in it), and every file is replaced
atomically (:mod:`lightning_lora.files`), so two writers never lose each other's scores and a reader never sees
half a file. Per-checkpoint results and samples files are written once each, by whoever scores the checkpoint
(:mod:`lightning_lora.benchmark.run_results`). No Lightning here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning_lora.benchmark.run_results import headline
from lightning_lora.checkpoints.reading import BEST_LINK, EARLY_STOP_FILE, STEP_PATTERN
from lightning_lora.errors import UserError
from lightning_lora.files import atomic_write_json, atomic_write_text, link_target, locked, swap_symlink

SCORES_FILE = "scores.json"
BEST_RECORD = "best.json"
EVALUATIONS_FILE = "evaluations.json"
TABLE_FILE = "checkpoints.md"
MODES = ("min", "max")


def read_scores(ckpt_dir: Path) -> dict[str, dict[str, Any]]:
    """``{checkpoint name: {"step", "metrics", "seconds", "bytes", "deleted"}}`` for every checkpoint scored so far."""
    path = Path(ckpt_dir) / SCORES_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_scores(ckpt_dir: Path, scores: dict[str, dict[str, Any]]) -> None:
    atomic_write_json(ckpt_dir / SCORES_FILE, scores, indent=1, sort_keys=True)


def _lock(ckpt_dir: Path) -> Any:
    Path(ckpt_dir).mkdir(parents=True, exist_ok=True)
    return locked(Path(ckpt_dir))


def record_scores(ckpt_dir: Path, checkpoint: str, step: int, metrics: dict[str, float] | None = None,
                  seconds: dict[str, float] | None = None) -> None:
    """Merge ``metrics`` (finite numbers only) and evaluation ``seconds`` (by kind) into ``checkpoint``'s entry."""
    with _lock(ckpt_dir):
        scores = read_scores(ckpt_dir)
        entry = scores.setdefault(checkpoint, {"step": step, "metrics": {}, "seconds": {}})
        entry["metrics"].update({k: float(v) for k, v in (metrics or {}).items() if math.isfinite(float(v))})
        entry["seconds"].update({k: round(float(v), 3) for k, v in (seconds or {}).items()})
        path = Path(ckpt_dir) / checkpoint
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
        with _lock(ckpt_dir):
            scores = read_scores(ckpt_dir)
            ranked = [name for name in self.ranked(scores) if (ckpt_dir / name).is_file()]
            if not ranked:
                return []
            protected = {link_target(ckpt_dir / "last.ckpt")}
            keep = set(ranked if self.save_top_k == -1 else ranked[: self.save_top_k]) | protected
            _point_best(ckpt_dir, ranked[0], scores[ranked[0]], self)
            deleted = []
            for name in ranked:
                if name not in keep and STEP_PATTERN.search(name):
                    (ckpt_dir / name).unlink()
                    scores[name]["deleted"] = True
                    deleted.append(name)
            if deleted:
                _write_scores(ckpt_dir, scores)
            return deleted


def _point_best(ckpt_dir: Path, name: str, entry: dict[str, Any], keep: KeepBest) -> None:
    """``best`` -> ``name`` and ``best.json`` with its monitored score (and pass@1 where it was benchmarked)."""
    metrics = entry["metrics"]
    record = {"checkpoint": name, "step": entry["step"], "monitor": keep.monitor, "mode": keep.mode,
              "score": metrics[keep.monitor]}
    if "benchmark/pass@1" in metrics:
        record["pass@1"] = metrics["benchmark/pass@1"]
    results = ckpt_dir / (Path(name).stem + ".results.json")
    if results.is_file():
        record["results"] = results.name
    atomic_write_json(ckpt_dir / BEST_RECORD, record)
    swap_symlink(ckpt_dir / BEST_LINK, name)


def read_best(ckpt_dir: Path, tag: str = "") -> dict[str, Any]:
    """``best[.tag].json`` of a run folder ({} when there is none yet)."""
    path = Path(ckpt_dir) / f"best{'.' + tag if tag else ''}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def update_best(ckpt_dir: Path, checkpoint: Path, step: int, results: dict[str, Any]) -> bool:
    """Point ``best`` and ``best.json`` at ``checkpoint`` if its pass@1 beats the recorded best; whether it did.

    Ties keep the earlier checkpoint: fewer steps for the same score.
    """
    with _lock(ckpt_dir):
        current = read_best(ckpt_dir)
        if current and current.get("pass@1", -1.0) >= headline(results)[0] and current.get("checkpoint") != checkpoint.name:
            return False
        _write_best(ckpt_dir, checkpoint, step, results)
        return True


def write_best(ckpt_dir: Path, checkpoint: Path, step: int, results: dict[str, Any], tag: str = "") -> None:
    """Write ``best[.tag].json`` naming ``checkpoint``; the ``best`` link only for the run's own settings (no tag)."""
    with _lock(ckpt_dir):
        _write_best(ckpt_dir, checkpoint, step, results, tag)


def _write_best(ckpt_dir: Path, checkpoint: Path, step: int, results: dict[str, Any], tag: str = "") -> None:
    pass1, passed, total = headline(results)
    suffix = f".{tag}" if tag else ""
    record = {"checkpoint": checkpoint.name, "step": step, "pass@1": pass1, "passed": passed, "total": total,
              "results": f"{checkpoint.stem}{suffix}.results.json"}
    atomic_write_json(ckpt_dir / f"best{suffix}.json", record)
    if not tag:
        swap_symlink(ckpt_dir / BEST_LINK, checkpoint.name)


def write_fit_records(ckpt_dir: Path, summary: dict[str, Any], table: str) -> None:
    """``evaluations.json`` (disk and time of the evaluations) and ``checkpoints.md`` (the per-checkpoint table)."""
    with _lock(ckpt_dir):
        atomic_write_json(ckpt_dir / EVALUATIONS_FILE, summary)
        atomic_write_text(ckpt_dir / TABLE_FILE, table + "\n")


def write_early_stop(ckpt_dir: Path, note: dict[str, Any]) -> None:
    """``early_stop.json``: why EarlyStopping ended the run (a resume is refused while it is there)."""
    atomic_write_json(Path(ckpt_dir) / EARLY_STOP_FILE, note)

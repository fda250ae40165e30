"""Base vs fine-tuned evaluation runs as one markdown table (the ``report`` command's ``--base/--tuned``).

``--base/--tuned``: two ``validate``/``test`` runs (folders with ``metrics.json``); the table (metric,
base, fine-tuned, delta) is saved as ``report.md`` in the fine-tuned run's folder.
``--runs``: training runs (folders a ``fit`` wrote); one row per run (method, parameters, time,
memory, throughput, losses, task metric) and plots of the losses and the metric per checkpoint,
saved in ``--output_dir`` (default ``reports/``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lightning_lora.errors import UserError


def read_metrics(folder: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` a validate/test run wrote; a folder without one is a user error."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        raise UserError(f"{folder} has no metrics.json; run `validate` or `test` with this config first.")
    return json.loads(path.read_text())


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested metrics dict, keyed ``a/b/c``; lists and text are left out."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def base_vs_tuned(base: dict[str, Any], tuned: dict[str, Any]) -> str:
    """Markdown table of every metric both runs report: base, fine-tuned and their difference."""
    if base.get("split") != tuned.get("split"):
        raise UserError(f"The runs evaluated different splits ({base.get('split')} vs {tuned.get('split')}); "
                        "compare runs on the same split.")
    if base.get("num_examples") != tuned.get("num_examples"):
        raise UserError(f"The runs evaluated different numbers of examples ({base.get('num_examples')} vs "
                        f"{tuned.get('num_examples')}).")
    left, right = flatten(base["metrics"]), flatten(tuned["metrics"])
    shared = [k for k in right if k in left]
    if not shared:
        raise UserError("The two runs have no metric in common.")
    lines = [f"Base: method={base.get('method')}, checkpoint={base.get('checkpoint')}; fine-tuned: "
             f"method={tuned.get('method')}, checkpoint={tuned.get('checkpoint')}; split={tuned.get('split')}, "
             f"{tuned.get('num_examples')} examples.", "",
             "| metric | base | fine-tuned | delta |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {left[k]:.4f} | {right[k]:.4f} | {right[k] - left[k]:+.4f} |" for k in shared]
    return "\n".join(lines)

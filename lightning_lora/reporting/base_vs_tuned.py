"""Base vs fine-tuned evaluation runs as one markdown table (the ``report`` command's ``--base/--tuned``).

``--base/--tuned``: two ``validate``/``test`` runs (folders with ``metrics.json``) and/or ``evaluate`` runs
(``lm_eval.json``: lm-eval tasks as ``lm_eval/<task>/<metric>``); the table (metric,
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
    """The ``metrics.json`` a validate/test run wrote and/or the ``lm_eval.json`` of ``evaluate`` (its tasks
    under ``lm_eval/<task>/<metric>``); a folder with neither is a user error."""
    path, harness = Path(folder) / "metrics.json", Path(folder) / "lm_eval.json"
    if not path.is_file() and not harness.is_file():
        raise UserError(f"{folder} has no metrics.json or lm_eval.json; run `validate`/`test` or `evaluate` "
                        "with this config first.")
    run = json.loads(path.read_text()) if path.is_file() else {}
    if harness.is_file():
        tasks = json.loads(harness.read_text())
        run.setdefault("metrics", {})["lm_eval"] = {
            task: {k: v for k, v in m.items() if k != "n" and "stderr" not in k} for task, m in tasks["tasks"].items()}
        run.setdefault("method", tasks.get("method"))
        run.setdefault("checkpoint", tasks.get("checkpoint"))
        settings = tasks.get("settings", {})
        run["lm_eval_settings"] = {k: settings.get(k) for k in ("limit", "num_fewshot")}
    return run


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
    if "lm_eval_settings" in base and base["lm_eval_settings"] != tuned.get("lm_eval_settings", base["lm_eval_settings"]):
        raise UserError(f"The lm-eval runs used different settings ({base['lm_eval_settings']} vs "
                        f"{tuned['lm_eval_settings']}); evaluate both with the same --limit and --num_fewshot.")
    left, right = flatten(base["metrics"]), flatten(tuned["metrics"])
    shared = [k for k in right if k in left]
    if not shared:
        raise UserError("The two runs have no metric in common.")
    lines = [f"Base: method={base.get('method')}, checkpoint={base.get('checkpoint')}; fine-tuned: "
             f"method={tuned.get('method')}, checkpoint={tuned.get('checkpoint')}"
             + (f"; split={tuned.get('split')}, {tuned.get('num_examples')} examples" if tuned.get("split") else "")
             + (f"; lm-eval {tuned['lm_eval_settings']}" if "lm_eval_settings" in tuned else "") + ".", "",
             "| metric | base | fine-tuned | delta |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {left[k]:.4f} | {right[k]:.4f} | {right[k] - left[k]:+.4f} |" for k in shared]
    return "\n".join(lines)

"""Put runs side by side as markdown tables and PNG plots.

    python -m lightning_lora report --base tb_logs/<run>/version_1 --tuned tb_logs/<run>/version_2
    python -m lightning_lora report --runs tb_logs/quickstart-lora/version_0 tb_logs/quickstart-full/version_0 ...

``--base/--tuned``: two ``validate``/``test`` runs (folders with ``metrics.json``); the table (metric,
base, fine-tuned, delta) is saved as ``report.md`` in the fine-tuned run's folder.
``--runs``: training runs (folders a ``fit`` wrote); one row per run (method, parameters, time,
memory, throughput, losses, task metric) and plots of the losses and the metric per checkpoint,
saved in ``--output_dir`` (default ``reports/``).
"""

from __future__ import annotations

import json
import sys
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


def main(argv: list[str]) -> int:
    """``python -m lightning_lora report (--base DIR --tuned DIR | --runs DIR ...) [--output FILE] [--output_dir DIR]``."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(prog="lightning_lora report", description=__doc__.strip().splitlines()[0], exit_on_error=False)
    parser.add_argument("--base", type=str | None, default=None, help="run folder of the base-model evaluation")
    parser.add_argument("--tuned", type=str | None, default=None, help="run folder of the fine-tuned evaluation")
    parser.add_argument("--output", type=str | None, default=None, help="markdown file (default: <tuned>/report.md)")
    parser.add_argument("--runs", type=str, default=None, nargs="+", help="training run folders to compare")
    parser.add_argument("--output_dir", type=str, default="reports", help="where --runs writes comparison.md and plots")
    try:
        args = parser.parse_args(argv)
    except Exception as err:
        raise UserError(f"report: {(str(err).strip().splitlines() or ['bad arguments'])[0]}") from err
    if args.runs:
        from lightning_lora.comparison import compare_runs

        table, files = compare_runs([Path(r) for r in args.runs], Path(args.output_dir))
        sys.stdout.write(table + "\n\n(saved: " + ", ".join(str(f) for f in files) + ")\n")
        return 0
    if not (args.base and args.tuned):
        raise UserError("report needs --base and --tuned (two validate/test run folders), or --runs (training runs).")
    table = base_vs_tuned(read_metrics(args.base), read_metrics(args.tuned))
    output = Path(args.output) if args.output else Path(args.tuned) / "report.md"
    output.write_text(table + "\n")
    sys.stdout.write(table + f"\n\n(saved to {output})\n")
    return 0

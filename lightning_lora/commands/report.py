"""``report``: runs side by side as markdown tables and PNG plots.

    python -m lightning_lora report --base tb_logs/<run>/version_1 --tuned tb_logs/<run>/version_2
    python -m lightning_lora report --runs tb_logs/quickstart-lora/version_0 tb_logs/quickstart-full/version_0 ...
    python -m lightning_lora report --study study-deep study-diverse [--output_dir reports/study]

``--base/--tuned``: two ``validate``/``test`` runs (:mod:`lightning_lora.reporting.base_vs_tuned`); ``--runs``: training
runs (:mod:`lightning_lora.reporting.runs`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from jsonargparse import ArgumentParser

from lightning_lora.errors import UserError, parse_command_line
from lightning_lora.reporting.base_vs_tuned import base_vs_tuned, read_metrics
from lightning_lora.reporting.runs import compare_runs
from lightning_lora.reporting.study import read_arm, write_study_report


def main(argv: list[str]) -> int:
    """``python -m lightning_lora report (--base DIR --tuned DIR | --runs DIR ...) [--output FILE] [--output_dir DIR]``."""
    parser = ArgumentParser(prog="lightning_lora report", description=__doc__.strip().splitlines()[0], exit_on_error=False)
    parser.add_argument("--base", type=str | None, default=None, help="run folder of the base-model evaluation")
    parser.add_argument("--tuned", type=str | None, default=None, help="run folder of the fine-tuned evaluation")
    parser.add_argument("--output", type=str | None, default=None, help="markdown file (default: <tuned>/report.md)")
    parser.add_argument("--runs", type=str, default=None, nargs="+", help="training run folders to compare")
    parser.add_argument("--output_dir", type=str, default="reports", help="where --runs writes comparison.md and plots")
    parser.add_argument("--study", type=str, default=None, nargs="+",
                        help="run names (checkpoints/<name>, tb_logs/<name>) of a study's arms")
    parser.add_argument("--checkpoints_root", type=str, default="checkpoints", help="with --study")
    parser.add_argument("--logs_root", type=str, default="tb_logs", help="with --study")
    args = parse_command_line(parser, argv[1:], "report")
    if args.study:
        arms = [read_arm(name, Path(args.checkpoints_root) / name, Path(args.logs_root) / name) for name in args.study]
        text, files = write_study_report(arms, Path(args.output_dir))
        sys.stdout.write(text + "\n\n(saved: " + ", ".join(str(f) for f in files) + ")\n")
        return 0
    if args.runs:
        table, files = compare_runs([Path(r) for r in args.runs], Path(args.output_dir))
        sys.stdout.write(table + "\n\n(saved: " + ", ".join(str(f) for f in files) + ")\n")
        return 0
    if not (args.base and args.tuned):
        raise UserError("report needs --base and --tuned (two validate/test or evaluate run folders), or --runs (training runs).")
    table = base_vs_tuned(read_metrics(args.base), read_metrics(args.tuned))
    output = Path(args.output) if args.output else Path(args.tuned) / "report.md"
    output.write_text(table + "\n")
    sys.stdout.write(table + f"\n\n(saved to {output})\n")
    return 0

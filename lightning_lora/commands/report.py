"""``report``: runs side by side as markdown tables and PNG plots.

    python -m lightning_lora report --base tb_logs/<run>/version_1 --tuned tb_logs/<run>/version_2
    python -m lightning_lora report --runs tb_logs/quickstart-lora/version_0 tb_logs/quickstart-full/version_0 ...
    python -m lightning_lora report --study study-deep study-diverse [--output_dir reports/study]
    python -m lightning_lora report --html report.html --runs tb_logs/quickstart/version_0 [...] | --study NAME ...

``--base/--tuned``: two ``validate``/``test`` runs (:mod:`lightning_lora.reporting.base_vs_tuned`); ``--runs``: training
runs (:mod:`lightning_lora.reporting.runs`); ``--html``: one self-contained page of those runs or arms
(:mod:`lightning_lora.reporting.html_report`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from jsonargparse import ArgumentParser

from lightning_lora.errors import UserError, parse_command_line
from lightning_lora.reporting.base_vs_tuned import base_vs_tuned, read_metrics
from lightning_lora.reporting.html_report import run_from_folder, run_from_study, write_html_report
from lightning_lora.reporting.runs import compare_runs
from lightning_lora.reporting.study import read_arm, write_study_report


def main(argv: list[str]) -> int:
    """``python -m lightning_lora report (--base DIR --tuned DIR | --runs DIR ... | --study NAME ...) [--output FILE]
    [--output_dir DIR] [--html FILE]``."""
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
    parser.add_argument("--html", type=str | None, default=None,
                        help="write one self-contained HTML page of the --runs or --study runs to this file instead")
    args = parse_command_line(parser, argv[1:], "report")
    if args.html:
        if args.study:
            runs = [run_from_study(name, Path(args.checkpoints_root), Path(args.logs_root)) for name in args.study]
        elif args.runs:
            runs = [run_from_folder(Path(r), Path(args.checkpoints_root)) for r in args.runs]
        else:
            raise UserError("report --html needs --runs (tb_logs/<run>/version_N or checkpoints/<run> folders) "
                            "or --study (run names).")
        sys.stdout.write(f"(saved: {write_html_report(runs, Path(args.html))})\n")
        return 0
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

"""``study-sets``: the seed study's DEEP and DIVERSE training sets from ``teach``'s verified answers, with the
same number of solution tokens (the student's tokenizer counts them).

    python -m lightning_lora study-sets --teacher data/study/teacher.jsonl --tokenizer real:qwen2.5-coder-0.5b-instruct \\
        --k 3 --output_dir data/study

Writes ``deep.jsonl``, ``diverse.jsonl`` and ``sets.json`` (how many problems, rows and tokens each arm got).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jsonargparse import ArgumentParser

from lightning_lora.data.study_sets import build_study_sets
from lightning_lora.errors import UserError, parse_command_line
from lightning_lora.files import atomic_write_json, atomic_write_jsonl
from lightning_lora.models.loading import load_tokenizer
from lightning_lora.problems.sources import read_jsonl


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="lightning_lora study-sets", exit_on_error=False,
                       description=__doc__.strip().splitlines()[0])
    p.add_argument("--teacher", type=str, required=True, help="the jsonl written by teach")
    p.add_argument("--tokenizer", type=str, required=True, help="the student's tokenizer (counts training tokens)")
    p.add_argument("--output_dir", type=str, required=True)
    p.add_argument("--k", type=int, default=3, help="DIVERSE: most different solutions kept per problem")
    p.add_argument("--seed", type=int, default=0, help="order problems are taken in")
    p.add_argument("--tolerance", type=float, default=0.05, help="largest relative token gap between the arms")
    p.add_argument("--valid_fraction", type=float, default=0.1, help="problems set aside for validation loss")
    return p


def main(argv: list[str]) -> int:
    """``python -m lightning_lora study-sets ...``; see the module docstring."""
    args = parse_command_line(build_parser(), argv[1:], "study-sets")
    rows = []
    try:
        for lineno, row in read_jsonl(Path(args.teacher), what="--teacher"):
            for key in ("problem_id", "solution", "sample_index"):
                if key not in row:
                    raise UserError(f"--teacher {args.teacher} line {lineno}: no {key!r} (not written by teach?)")
            rows.append(row)
    except ValueError as err:
        raise UserError(str(err)) from err
    tokenizer = load_tokenizer(args.tokenizer)
    try:
        sets = build_study_sets(rows, lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]),
                                k=args.k, seed=args.seed, tolerance=args.tolerance,
                                valid_fraction=args.valid_fraction)
    except ValueError as err:
        raise UserError(f"study-sets: {err}") from None
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_jsonl(out / "deep.jsonl", sets.deep)
    atomic_write_jsonl(out / "diverse.jsonl", sets.diverse)
    summary = {**sets.summary, "teacher_file": args.teacher, "tokenizer": args.tokenizer}
    atomic_write_json(out / "sets.json", summary)
    print(json.dumps(summary))
    if not sets.summary["within_tolerance"]:
        print(f"study-sets: the arms' token counts differ by {sets.summary['token_gap']:.1%}, more than "
              f"--tolerance {args.tolerance:.0%}: too few verified answers to balance them", file=sys.stderr)
        return 1
    return 0

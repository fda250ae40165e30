"""Score a samples file without a model (the human-eval convention).

    python -m lightning_lora benchmark --problems humaneval --samples samples.jsonl --output results.json --k [1,5]
"""

from __future__ import annotations

import sys
from argparse import ArgumentError
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser

from lightning_lora.benchmark.problems import PRESETS, load_problems
from lightning_lora.benchmark.sandbox import SandboxConfig
from lightning_lora.benchmark.scoring import (
    default_workers,
    evaluate,
    read_samples,
    write_results,
)


def build_parser() -> ArgumentParser:
    """The ``benchmark --samples`` options."""
    p = ArgumentParser(prog="lightning_lora benchmark", description=__doc__.strip().splitlines()[0],
                       exit_on_error=False)
    p.add_argument("--problems", type=str, required=True,
                   help=f"a .jsonl of stdin problems, 'humaneval', 'livecodebench[:<path or hub id>]', "
                        f"or a preset: {', '.join(PRESETS)}")
    p.add_argument("--samples", type=Path, required=True, help='jsonl of {"task_id": ..., "completion": ...}')
    p.add_argument("--output", type=Path | None, default=None,
                   help="results JSON (default: <samples without .jsonl>.results.json)")
    p.add_argument("--k", type=list[int], default=[1], help="pass@k values, e.g. [1,5]")
    p.add_argument("--timeout", type=float, default=10.0, help="wall-clock seconds per program run")
    p.add_argument("--memory_mb", type=int, default=1024, help="memory limit per program run")
    p.add_argument("--workers", type=int, default=default_workers(), help="programs run in parallel")
    p.add_argument("--isolation", type=str, default="auto", choices=["auto", "bubblewrap", "process-group"],
                   help="sandbox: bubblewrap when it works (auto), or force one")
    p.add_argument("--raw", type=bool, default=False,
                   help="run stdin completions as they are instead of extracting the first code block")
    p.add_argument("--test_mode", type=str, default="all", choices=["all", "public"],
                   help="LiveCodeBench: public + private tests (all) or public only (the seed study's way)")
    p.add_argument("--platform", type=str | None, default=None, help="LiveCodeBench platform filter")
    p.add_argument("--difficulty", type=str | None, default=None, help="LiveCodeBench difficulty filter")
    p.add_argument("--start_date", type=str | None, default=None, help="first contest date kept (YYYY-MM-DD)")
    p.add_argument("--end_date", type=str | None, default=None, help="last contest date kept (YYYY-MM-DD)")
    p.add_argument("--progress", type=bool, default=True, help="show a progress bar on stderr")
    return p


def format_summary(results: dict[str, Any]) -> str:
    """A small markdown table of the headline numbers."""
    s = results["summary"]
    rows = [("problem set", s["problem_set"]), ("test mode", s["test_mode"]),
            ("problems / samples", f"{s['num_problems']} / {s['num_samples']}"),
            ("problems passed", f"{s['problems_passed']} / {s['num_problems']}")]
    for name, value in s["pass@k"].items():
        rows.append((name, "n/a (fewer samples than k)" if value is None else f"{value:.4f}"))
    for name, value in s["seed_convention"]["pass@k"].items():
        shown = "n/a" if value is None else f"{value:.4f}"
        rows.append((f"{name}, seed convention", f"{shown} over {s['seed_convention']['num_problems']} problems"))
    rows.append(("statuses", ", ".join(f"{k} {v}" for k, v in s["counts_by_status"].items() if v)))
    rows.append(("isolation", s["isolation"]))
    width = max(len(r[0]) for r in rows)
    lines = [f"| {'metric'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Score samples; print a summary table; 0 on success, 2 on bad input (one sentence on stderr)."""
    try:
        args = build_parser().parse_args(argv)
    except ArgumentError as e:
        print(f"error: {' '.join(str(e).split())} (see --help)", file=sys.stderr)
        return 2
    try:
        filters = {"platform": args.platform, "difficulty": args.difficulty, "start_date": args.start_date,
                   "end_date": args.end_date}
        if args.test_mode != "all":
            filters["test_mode"] = args.test_mode
        problems = load_problems(args.problems, **filters)
        samples = read_samples(args.samples)
        sandbox = SandboxConfig(timeout_s=args.timeout, memory_mb=args.memory_mb, isolation=args.isolation)
        results = evaluate(problems, samples, k=args.k, workers=args.workers, extract=not args.raw,
                           sandbox=sandbox, progress=args.progress)
    except ValueError as e:  # bad input: files, fields, task ids, options
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # the sandbox cannot run here (e.g. --isolation bubblewrap without bwrap)
        print(f"error: {e}", file=sys.stderr)
        return 1
    output = args.output or args.samples.with_name(args.samples.name.removesuffix(".jsonl") + ".results.json")
    write_results(output, results)
    print(format_summary(results))
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

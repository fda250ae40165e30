"""The process that benchmarks a run's checkpoints beside its fit; ``BenchmarkCallback(background=true)`` starts it
(:class:`~lightning_lora.callbacks.background.BackgroundScorer`), nobody else needs to:

    python -m lightning_lora.commands.benchmark_worker --checkpoints_dir D --settings JSON [--threads 1] [--device cpu]

It builds the run's model once from ``D/config.yaml`` with :func:`~lightning_lora.training.restore.restore`, as
``benchmark --checkpoints_dir`` does, then reads checkpoint paths from stdin, one a line. For each it loads the
checkpoint into that model (checked as every command checks one), generates and scores with ``--settings``, writes
``<stem>.samples.jsonl`` and ``<stem>.results.json`` beside it (:func:`~lightning_lora.benchmark.run_results.score_and_write`,
each file atomically, as the in-process benchmark does), and prints one JSON line on stdout:
``{"checkpoint": path, "step": N, "seconds": S}``, or ``{"checkpoint": path, "error": sentence}``. It records no
score; the fit does when the line arrives. It ends at the end of stdin, and at once when the fit that started it
is gone (killed): what it was scoring then was not finished, and no results file is half written.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from jsonargparse import ArgumentParser

from lightning_lora.benchmark.run_results import load_problem_set, score_and_write
from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.errors import UserError, parse_command_line, user_error_in_chain
from lightning_lora.training.restore import restore


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m lightning_lora.commands.benchmark_worker", exit_on_error=False,
                       description=__doc__.strip().splitlines()[0])
    p.add_argument("--checkpoints_dir", type=str, required=True, help="the run folder (its config.yaml builds the model)")
    p.add_argument("--settings", type=str, required=True, help="the benchmark settings as a JSON object")
    p.add_argument("--threads", type=int, default=1, help="torch threads for generation")
    p.add_argument("--device", type=str, default="cpu", help="where the model runs (cpu, cuda:1, ...)")
    return p


def main(argv: list[str]) -> int:
    """Score the checkpoints named on stdin (see the module docstring)."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)  # the protocol's own channel
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # anything else printed goes to the log
    args = parse_command_line(build_parser(), argv[1:], "benchmark worker")
    _end_with_parent(os.getppid())

    import torch

    torch.set_num_threads(args.threads)
    settings = BenchmarkSettings(**json.loads(args.settings))
    restored = restore(checkpoints_dir=args.checkpoints_dir, command="benchmark")
    restored.module.to(args.device)
    problems = load_problem_set(settings)
    for line in sys.stdin:
        path = Path(line.strip())
        if not line.strip():
            continue
        try:
            step = restored.load_checkpoint(path, "--checkpoints_dir")
            start = time.perf_counter()
            score_and_write(restored.model, restored.tokenizer, problems, settings, path.with_suffix(""),
                            extra={"checkpoint": path.name, "step": step})
            reply = {"checkpoint": str(path), "step": step, "seconds": round(time.perf_counter() - start, 3)}
        except UserError as err:  # this checkpoint cannot be scored (gone, damaged); the next may be
            reply = {"checkpoint": str(path), "error": str(err)}
        replies.write(json.dumps(reply) + "\n")
    return 0


def _end_with_parent(parent: int) -> None:
    """Exit as soon as the process that started this one is gone (a fit killed with SIGKILL cannot say so)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as err:  # a user's mistake (the config, the settings) is one line in the log, as commands say it
        user_error = user_error_in_chain(err)
        if user_error is None:
            raise
        print(f"error: {user_error}", file=sys.stderr)
        sys.exit(2)

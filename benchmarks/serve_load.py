"""A bounded load run of ``serve`` on loopback: requests/s and latency percentiles at several client counts.

Starts ``python -m lightning_lora serve`` on 127.0.0.1 (a free port), then for each client count C runs C threads,
each sending ``--requests`` greedy chat completions one after another with the official ``openai`` client, and
prints a markdown table (requests/s, completion tokens/s, p50/p95 latency) for ``benchmarks/RESULTS.md``.

    python benchmarks/serve_load.py --model real:qwen2.5-coder-0.5b-instruct --clients 1 4 16 --requests 4
    python benchmarks/serve_load.py --ckpt_path checkpoints/quickstart/best --clients 1 4 --requests 2

Nothing leaves the machine: the server listens on 127.0.0.1 only and is stopped with Ctrl-C's signal at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: Short coding requests of the kind an editor sends; each client cycles through them from its own offset.
PROMPTS = [
    "Write a Python function that returns the n-th Fibonacci number.",
    "Write a Python function that checks whether a string is a palindrome.",
    "Write a Python function that returns the largest of three numbers.",
    "Write a Python function that counts the vowels in a string.",
    "Write a Python function that reverses a list in place.",
    "Write a Python function that returns the factorial of n.",
    "Write a Python function that removes duplicates from a list, keeping the order.",
    "Write a Python function that returns True if n is prime.",
    "Write a Python function that sums the digits of an integer.",
    "Write a Python function that merges two sorted lists.",
    "Write a Python function that returns the words of a sentence in reverse order.",
    "Write a Python function that converts Celsius to Fahrenheit.",
    "Write a Python function that returns the second largest number in a list.",
    "Write a Python function that flattens a list of lists.",
    "Write a Python function that counts how often each character occurs in a string.",
    "Write a Python function that returns the greatest common divisor of two integers.",
]


def start_server(source: list[str], max_batch_size: int, timeout_s: float = 600.0,
                 engine: str = "generate") -> tuple[subprocess.Popen, str]:
    """The ``serve`` process and its base URL, once it answers ``/v1/models``."""
    import openai

    cmd = [sys.executable, "-m", "lightning_lora", "serve", *source, "--host", "127.0.0.1", "--port", "0",
           "--max_batch_size", str(max_batch_size), "--engine", engine]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline, url = time.monotonic() + timeout_s, None
    assert proc.stderr is not None
    for line in proc.stderr:  # the start line names the URL; everything before it is loading output
        found = re.search(r" on (http://127\.0\.0\.1:\d+/v1) ", line)
        if found:
            url = found.group(1)
            break
        if time.monotonic() > deadline:
            break
    if url is None:
        proc.kill()
        raise SystemExit(f"serve did not start (exit {proc.poll()}): {' '.join(cmd)}")
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # keep its pipe drained
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
    while time.monotonic() < deadline:
        try:
            client.models.list()
            return proc, url
        except openai.APIConnectionError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("serve did not answer /v1/models in time")


def run_clients(url: str, model: str, clients: int, requests: int, max_tokens: int) -> dict:
    """``clients`` threads, each sending ``requests`` greedy chat completions in turn; latencies and totals."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=3600)

    def one_client(index: int) -> list[tuple[float, int]]:
        out = []
        for k in range(requests):
            prompt = PROMPTS[(index * requests + k) % len(PROMPTS)]
            start = time.perf_counter()
            reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}],
                                                   max_tokens=max_tokens, temperature=0.0, seed=0)
            out.append((time.perf_counter() - start, reply.usage.completion_tokens if reply.usage else 0))
        return out

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [r for rs in pool.map(one_client, range(clients)) for r in rs]
    wall = time.perf_counter() - start
    latencies = sorted(t for t, _ in results)
    tokens = sum(n for _, n in results)
    return {"clients": clients, "requests": len(results), "wall_s": round(wall, 2),
            "requests_per_s": round(len(results) / wall, 3), "completion_tokens_per_s": round(tokens / wall, 1),
            "p50_s": round(statistics.median(latencies), 2),
            "p95_s": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies) + 0.5) - 1)], 2),
            "completion_tokens": tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="an export folder, a Hugging Face folder or real:<name>")
    source.add_argument("--ckpt_path", help="a checkpoint, or a run folder's best/last")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=4, help="requests per client, one after another")
    parser.add_argument("--max_tokens", type=int, default=64)
    parser.add_argument("--max_batch_size", type=int, default=16, help="serve's --max_batch_size")
    parser.add_argument("--engine", default="generate", help="serve's --engine: generate or llamacpp")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    import openai

    proc, url = start_server(["--model", args.model] if args.model else ["--ckpt_path", args.ckpt_path],
                             args.max_batch_size, engine=args.engine)
    try:
        model = openai.OpenAI(base_url=url, api_key="none").models.list().data[0].id
        run_clients(url, model, 1, 1, 8)  # warm-up, not counted (llamacpp: writes and loads its GGUF files)
        rows = [run_clients(url, model, c, args.requests, args.max_tokens) for c in args.clients]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"serve {' '.join(['--model', args.model] if args.model else ['--ckpt_path', args.ckpt_path])}, "
          f"--max_batch_size {args.max_batch_size}, --engine {args.engine}, greedy, max_tokens {args.max_tokens}, "
          f"torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}\n")
    print("| clients | requests | wall s | requests/s | completion tokens/s | p50 latency s | p95 latency s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['clients']} | {r['requests']} | {r['wall_s']} | {r['requests_per_s']} | "
              f"{r['completion_tokens_per_s']} | {r['p50_s']} | {r['p95_s']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

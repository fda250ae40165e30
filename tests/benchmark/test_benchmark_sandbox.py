"""The sandbox: verdicts, and containment of hostile programs (each a failed problem, nothing left behind)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from benchmark_helpers import (
    cgroup_works,
    leftover_run_cgroups,
    live_processes,
    needs_bwrap,
    needs_cgroup,
    new_token,
    tagged,
)

from lightning_lora.benchmark import sandbox as sb
from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.problems.sources import Problem, ProblemSet

REPO = Path(__file__).resolve().parents[2]
MODES = {
    "bubblewrap": dict(isolation="bubblewrap"),
    "process-group+cgroup": dict(isolation="process-group"),
    "process-group": dict(isolation="process-group", use_cgroup=False),
}


def config(mode: str, **kw) -> sb.SandboxConfig:
    if mode == "bubblewrap" and not sb._use_bwrap(sb.SandboxConfig()):
        pytest.skip("bubblewrap is not installed or does not work here")
    if mode == "process-group+cgroup" and not cgroup_works():
        pytest.skip("no writable pids cgroup on this machine")
    return sb.SandboxConfig(**{"timeout_s": 1.5, "memory_mb": 256, "output_limit_mb": 1, "max_pids": 32,
                               **MODES[mode], **kw})


@pytest.fixture
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Route the sandbox's temporary directories here, to check that every run removes its own."""
    root = tmp_path / "sandbox-tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


# ---------------------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(
    "code, status",
    [
        ("a, b = map(int, input().split())\nprint(a + b)", "passed"),
        ("print(a + b   )", "runtime_error"),
        ("print(4)", "wrong_answer"),
        ("def f(:\n  pass", "syntax_error"),
        ("x = bytearray(2 * 1024**3)", "memory"),
        ("import sys\nsys.exit(3)", "runtime_error"),
        ("print('3   ')\nprint()\nprint()", "passed"),  # trailing whitespace and blank lines do not count
    ],
)
def test_stdio_verdicts(mode: str, code: str, status: str) -> None:
    ex = sb.run_stdio_test(code, {"input": "1 2\n", "output": "3\n"}, config(mode))
    assert ex.status == status, ex.stderr_tail


def test_output_comparison_is_livecodebench_s() -> None:
    assert sb.outputs_match("1 2  \r\n3\n\n\n", "1 2\n3")
    assert sb.outputs_match("\n  1\n", "1\n")  # surrounding blank lines and each line's own spaces do not count
    assert sb.outputs_match("1.5 2\n", "1.500000  2\n")  # numbers compared as Decimal, token by token
    assert sb.outputs_match("1e3\n", "1000\n")
    assert not sb.outputs_match("1\n\n2\n", "1\n2\n")  # an inner blank line counts
    assert not sb.outputs_match("a  b\n", "a b\n")  # words are compared as whole lines
    assert not sb.outputs_match("1.5000001\n", "1.5\n")  # no tolerance: exact decimal equality
    assert not sb.outputs_match("nan\n", "NaN\n") and not sb.outputs_match("sNaN\n", "1\n")
    assert not sb.outputs_match("1 2\n", "1 2 3\n")


def test_program_sees_no_parent_environment_and_no_site_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LL_SECRET_TEST", "in-os-environ")
    code = "import os, sys\nprint(sorted(os.environ))\nprint(any('site-packages' in p for p in sys.path))"
    for mode in ("bubblewrap", "process-group"):
        if mode == "bubblewrap" and not sb._use_bwrap(sb.SandboxConfig()):
            continue
        out = sb.run_program(code, "", config(mode)).stdout
        assert "LL_SECRET_TEST" not in out
        assert out.splitlines()[1] == "False"  # no installed package is importable: the standard library only


def test_function_runner_statuses() -> None:
    prompt = "def add(a, b):\n"
    test = "def check(candidate):\n    assert candidate(1, 2) == 3\n"

    def run(completion: str) -> str:
        return sb.run_function_test(prompt, completion, test, "add", config("process-group")).status

    assert run("    return a + b\n") == "passed"
    assert run("    return a - b\n") == "wrong_answer"
    assert run("    return undefined\n") == "runtime_error"
    assert run("    return (\n") == "syntax_error"


# ---------------------------------------------------------------------------------------- containment


def attacks(tmp_path: Path, token: str, bounded_fork: bool) -> dict[str, str]:
    """Hostile programs; each is given expected output it never prints, so each must fail."""
    bounded = ("import os, time\nfor _ in range(16):\n    if os.fork() == 0:\n        time.sleep(60)\n"
               "        os._exit(0)\n")
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    fork = bounded + "time.sleep(60)" if bounded_fork else bomb
    return {
        "infinite_loop": "while True:\n    pass",
        "fork_bomb": fork,
        "memory_bomb": "blocks = []\nwhile True:\n    blocks.append(bytearray(10**7))",
        "output_flood": "while True:\n    print('x' * 4096)",
        "write_outside": (f"for p in ['/tmp/ll-escape-{token}', '{REPO}/ll-escape-{token}', '{tmp_path}/escape']:\n"
                          "    try:\n        open(p, 'w').write('escaped')\n    except OSError:\n        pass"),
        "setsid_double_fork": (
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(2)\n"
            f"        open('{tmp_path}/setsid-marker', 'w').write('escaped')\n        time.sleep(30)\n    os._exit(0)\n"
            "time.sleep(60)"
        ),
    }


@pytest.mark.parametrize("mode", list(MODES))
def test_attacks_are_contained_and_evaluation_goes_on(mode: str, tmp_path: Path, private_tempdir: Path) -> None:
    cfg = config(mode)
    # The real fork bomb needs a pids limit: namespaces alone do not stop it exhausting the host's pids,
    # and RLIMIT_NPROC does nothing for root. Without a cgroup a bounded one (16 sleeping children) runs.
    bounded = not (cfg.use_cgroup and cgroup_works())
    token = new_token()
    programs = attacks(tmp_path, token, bounded)
    problems = [Problem(name, name, tests=[{"input": "", "output": "never printed"}]) for name in programs]
    problems.append(Problem("honest", "add", tests=[{"input": "2 3\n", "output": "5\n"}]))
    samples = [{"task_id": name, "completion": tagged(token, code)} for name, code in programs.items()]
    samples.append({"task_id": "honest", "completion": "a, b = map(int, input().split())\nprint(a + b)"})

    start = time.monotonic()
    results = evaluate(ProblemSet("attacks", problems), samples, workers=2, sandbox=cfg, progress=False)
    elapsed = time.monotonic() - start

    status = {r["task_id"]: r["status"] for r in results["samples"]}
    assert status.pop("honest") == "passed"
    assert all(s != "passed" for s in status.values()), status
    assert status["infinite_loop"] == "timeout" and status["fork_bomb"] == "timeout"
    assert status["memory_bomb"] == "memory"
    assert status["output_flood"] == "wrong_answer"
    assert elapsed < 20
    assert live_processes(token) == [], "a process of the attacks outlived its run"
    assert list(private_tempdir.iterdir()) == [], "a run left its temporary directory behind"
    assert leftover_run_cgroups() == []
    if mode == "bubblewrap":  # with namespaces the host's files are out of reach
        assert not Path(f"/tmp/ll-escape-{token}").exists()
        assert not (REPO / f"ll-escape-{token}").exists()
        assert not (tmp_path / "escape").exists()
    else:  # no mount namespace: world-writable places are reachable, and the isolation label says so
        assert Path(f"/tmp/ll-escape-{token}").exists()
        # Dropped to nobody (we are root and setpriv exists), a root-owned folder is out of reach.
        assert (tmp_path / "escape").exists() != bool(sb._drop_root_argv())
        assert "host files" in results["summary"]["isolation"]
        for p in (Path(f"/tmp/ll-escape-{token}"), REPO / f"ll-escape-{token}"):
            p.unlink(missing_ok=True)
    # The setsid'd grandchild would write its marker 2 s after starting; it must have died with the run.
    time.sleep(max(0.0, 2.5 - (time.monotonic() - start)))
    assert not (tmp_path / "setsid-marker").exists()
    assert live_processes(token, wait_s=0) == []


@needs_bwrap
def test_network_is_unreachable_in_bubblewrap() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        code = (f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
                "s.sendall(b'x')\nprint('connected')")
        ex = sb.run_stdio_test(code, {"input": "", "output": "connected"}, config("bubblewrap"))
        assert ex.status == "runtime_error" and "ConnectionRefusedError" in ex.stderr_tail
        with pytest.raises(TimeoutError):
            server.accept()


def test_fallback_network_leak_is_real_and_labelled() -> None:
    """Without namespaces the connection succeeds: the label must admit it (so the label is not decoration)."""
    cfg = config("process-group")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nprint('connected')"
        assert sb.run_program(code, "", cfg).stdout.strip() == "connected"
    assert "network" in sb.isolation_level(cfg) and "reachable" in sb.isolation_level(cfg)


SECRET_READER = """
import os
found = [os.environ.get('LL_SECRET_TEST', '')]
for pid in [str(os.getppid()), '1'] + [p for p in os.listdir('/proc') if p.isdigit()]:
    try:
        found.append(open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace'))
    except OSError:
        pass
print('\\n'.join(found))
"""


@pytest.mark.parametrize("mode", ["bubblewrap", "process-group"])
def test_parent_secret_is_not_readable(mode: str) -> None:
    """The evaluator runs in a process started with a secret in its environment, like a user's HF_TOKEN."""
    config(mode)  # skips when the mode is unavailable
    secret = f"s3cret-{new_token()}"
    driver = (
        "import json, sys\nfrom lightning_lora.benchmark import sandbox as sb\n"
        f"cfg = sb.SandboxConfig(timeout_s=3, **{MODES[mode]!r})\n"
        f"print(json.dumps(sb.run_program({SECRET_READER!r}, '', cfg).stdout))"
    )
    out = subprocess.run([sys.executable, "-c", driver], env={**os.environ, "LL_SECRET_TEST": secret},
                         capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    child_stdout = json.loads(out.stdout)
    if mode == "bubblewrap" or sb._drop_root_argv():  # namespaces, or running as nobody: root's /proc is closed
        assert secret not in child_stdout
    else:  # os.environ is clean, but /proc/<ppid>/environ is readable: a known limit, labelled
        assert child_stdout.splitlines()[0] == ""
        assert secret in child_stdout
        assert "/proc/<ppid>/environ reachable" in sb.isolation_level(config(mode))


@needs_bwrap
def test_parent_is_invisible_in_bubblewrap() -> None:
    code = "import os\nprint(os.getppid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    out = sb.run_program(code, "", config("bubblewrap")).stdout.split(maxsplit=1)
    assert out[0] == "1" and json.loads(out[1]) == [1, 2]  # bwrap's init and the program: nothing else


@needs_cgroup
def test_isolation_level_names_what_is_active() -> None:
    assert "cgroup-v" in sb.isolation_level(sb.SandboxConfig(isolation="process-group"))
    assert sb.isolation_level(sb.SandboxConfig(isolation="process-group", use_cgroup=False)).startswith(
        "process-group+rlimits")


@needs_cgroup
@pytest.mark.parametrize("mode", ["bubblewrap", "process-group+cgroup"])
def test_memory_spread_over_processes_hits_the_cgroup_limit(mode: str) -> None:
    """Each child stays under the per-process rlimit; together they exceed the run's memory cgroup.

    Each child holds its memory for a second before exiting, so the four overlap however the
    scheduler orders them (without the pause a loaded machine could run them one after another).
    """
    code = ("import os, time\nfor _ in range(4):\n    if os.fork() == 0:\n        b = bytearray(200 * 2**20)\n"
            "        for i in range(0, len(b), 4096):\n            b[i] = 1\n        time.sleep(1)\n        os._exit(0)\n"
            "for _ in range(4):\n    os.wait()\nprint('done')")
    ex = sb.run_stdio_test(code, {"input": "", "output": "done"}, config(mode, timeout_s=5.0))
    assert ex.status == "memory" and ex.oom_killed

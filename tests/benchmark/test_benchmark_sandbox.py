"""The sandbox: verdicts, and containment of hostile programs (each a failed problem, nothing left behind)."""

from __future__ import annotations

import json
import os
import shutil
import signal
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
    namespaces_work,
    needs_bwrap,
    needs_cgroup,
    needs_namespaces,
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
    # The bare fallback: no namespaces (as on a machine that permits no unshare), every pass unverified.
    "process-group-bare": dict(isolation="process-group", use_cgroup=False, namespaces=False),
}


def contained(cfg: sb.SandboxConfig) -> bool:
    """Whether runs under ``cfg`` get mount and network namespaces here (bubblewrap's or unshare's)."""
    return sb._use_bwrap(cfg) or (cfg.namespaces and namespaces_work())


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
    if contained(cfg):  # with namespaces (bubblewrap's or unshare's) the host's files are out of reach
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
    cfg = config("process-group-bare")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nprint('connected')"
        assert sb.run_program(code, "", cfg).stdout.strip() == "connected"
    assert "network" in sb.isolation_level(cfg) and "reachable" in sb.isolation_level(cfg)
    assert "namespaces disabled by config" in sb.isolation_level(cfg) and sb.unverified_reason(cfg)


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


@pytest.mark.parametrize("mode", ["bubblewrap", "process-group", "process-group-bare"])
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
    if contained(config(mode)) or sb._drop_root_argv():  # namespaces, or running as nobody: root's /proc is closed
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
    assert sb.isolation_level(sb.SandboxConfig(isolation="process-group", use_cgroup=False,
                                               namespaces=False)).startswith("process-group+rlimits")
    if namespaces_work():
        assert sb.isolation_level(sb.SandboxConfig(isolation="process-group", use_cgroup=False)).startswith(
            "process-group+namespaces(")


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


# ---------------------------------------------------------------------------------------- the fallback's namespaces


@pytest.fixture
def world_readable_problems(monkeypatch: pytest.MonkeyPatch):
    """A problems file in a world-readable folder under /tmp (where a user may well keep one), its path also in
    the evaluator's environment; yields (path, expected output)."""
    folder = Path(tempfile.mkdtemp(prefix="ll-problems-", dir="/tmp"))
    os.chmod(folder, 0o755)
    expected = f"expected-{new_token()}"
    path = folder / "problems.jsonl"
    path.write_text(json.dumps({"task_id": "p", "prompt": "print the answer",
                                "tests": [{"input": "", "output": expected + "\n"}]}) + "\n")
    os.chmod(path, 0o644)
    monkeypatch.setenv("LL_PROBLEMS_FILE", str(path))
    yield path, expected
    shutil.rmtree(folder, ignore_errors=True)


def _reads_the_problems_file(path: Path) -> str:
    """A candidate that knows (or guessed) where the problems file is, and prints the expected output from it."""
    return ("import json, os\n"
            f"path = os.environ.get('LL_PROBLEMS_FILE') or {str(path)!r}\n"
            "print(json.loads(open(path).readline())['tests'][0]['output'])\n")


@pytest.mark.parametrize("mode", ["bubblewrap", "process-group+cgroup", "process-group", "process-group-bare"])
def test_a_candidate_reading_the_problems_file_does_not_pass(mode: str, world_readable_problems) -> None:
    from lightning_lora.problems.sources import load_problems

    path, expected = world_readable_problems
    cfg = config(mode)
    results = evaluate(load_problems(str(path)), [{"task_id": "p", "completion": _reads_the_problems_file(path)}],
                       sandbox=cfg, extract=False, progress=False)
    record, summary = results["samples"][0], results["summary"]
    assert summary["pass@k"]["pass@1"] == 0.0 and summary["problems_passed"] == 0
    if contained(cfg):  # the file is not in the sandbox's tree at all
        assert record["status"] == "runtime_error" and "FileNotFoundError" in record["stderr_tail"], record
        assert record["verdict"] == "trusted"
    else:  # it reads the file and prints the answer: the pass is recorded beside pass@k, unverified, with why
        assert record["status"] == "passed" and record["verdict"] == "forgeable"
        assert "namespace" in record["verdict_reason"]
        assert summary["counts_by_status"]["passed"] == 0 and summary["counts_by_status"]["passed_unverified"] == 1
        assert summary["problems_passed_unverified"] == 1 and summary["pass@k_including_unverified"]["pass@1"] == 1.0
        assert summary["verdicts"]["passed_unverified"] == 1


@needs_namespaces
@pytest.mark.parametrize("mode", ["process-group+cgroup", "process-group"])
def test_fallback_has_no_network(mode: str) -> None:
    cfg = config(mode)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.3)
        port = server.getsockname()[1]
        code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
                "    print('connected')\nexcept OSError as e:\n    print('no route', e.errno)\n"
                "print(socket.if_nameindex())")
        ex = sb.run_program(code, "", cfg)
        with pytest.raises(TimeoutError):
            server.accept()
    lines = ex.stdout.splitlines()
    assert lines[0] == "no route 101", ex  # ENETUNREACH: not even loopback is up
    assert lines[1] == "[(1, 'lo')]"  # a network namespace of its own: only its (down) loopback
    assert "net: no network" in sb.isolation_level(cfg) and sb.unverified_reason(cfg) is None


@pytest.mark.parametrize("mode", ["bubblewrap", "process-group+cgroup", "process-group"])
def test_tmp_and_dev_shm_writes_leave_nothing(mode: str, private_tempdir: Path) -> None:
    cfg = config(mode)
    if not contained(cfg):
        pytest.skip(f"no mount namespace here ({sb.isolation_level(cfg)})")
    token = new_token()
    code = (f"import os\nprint(os.listdir('/tmp'), os.listdir('/dev/shm'))\n"
            f"for d in ('/tmp', '/dev/shm', '/var/tmp'):\n    try:\n"
            f"        open(d + '/x-{token}', 'w').write('left behind')\n        print('wrote', d)\n"
            "    except OSError as e:\n        print('refused', d, e.errno)\n")
    ex = sb.run_program(code, "", cfg)
    lines = ex.stdout.splitlines()
    assert lines[0] == "[] []", ex  # fresh, empty: no other run's files either
    assert lines[1:3] == ["wrote /tmp", "wrote /dev/shm"]
    for d in ("/tmp", "/dev/shm", "/var/tmp"):
        assert not Path(f"{d}/x-{token}").exists()
    assert list(private_tempdir.iterdir()) == []  # the run's own folder is gone too


@needs_namespaces
def test_fallback_layers_are_named_and_verified_by_the_probe() -> None:
    cfg = config("process-group")
    level = sb.isolation_level(cfg)
    assert level.startswith("process-group+namespaces(net: no network; mount: private root")
    assert "pid: the program is PID 1" in level and "no capabilities" in level
    code = ("import os\nprint(os.getpid(), sorted(os.listdir('/')), os.path.exists('/etc'))\n"
            "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])")
    out = sb.run_program(code, "", cfg).stdout.splitlines()
    assert out[0].startswith("1 ") and "'work'" in out[0] and out[0].endswith("False")
    assert out[1] == "0000000000000000"


def test_a_missing_layer_is_named_and_its_passes_are_unverified(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without bubblewrap that permits no unshare: both missing, said so, passes not counted."""
    sb._warn_fallback.cache_clear()
    monkeypatch.setattr(sb, "_probe_bwrap", lambda python: sb._BwrapProbe(False, False, "bwrap not installed"))
    monkeypatch.setattr(sb, "_probe_namespaces", lambda python: sb._NsProbe(False, "unshare: Operation not permitted"))
    cfg = sb.SandboxConfig(timeout_s=3, memory_mb=256, use_cgroup=False)
    with pytest.warns(RuntimeWarning, match="no pass counts"):
        level = sb.isolation_level(cfg)
    assert "namespaces unavailable: unshare: Operation not permitted" in level and "bwrap not installed" in level
    assert sb.unverified_reason(cfg)
    problem = Problem("p", "add", tests=[{"input": "1 2\n", "output": "3\n"}])
    results = evaluate([problem], [{"task_id": "p", "completion": "print(3)"}], sandbox=cfg, progress=False)
    assert results["samples"][0]["status"] == "passed" and results["samples"][0]["verdict"] == "forgeable"
    assert results["summary"]["pass@k"]["pass@1"] == 0.0
    assert results["summary"]["pass@k_including_unverified"]["pass@1"] == 1.0


@needs_namespaces
def test_without_bwrap_auto_falls_back_to_the_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    sb._warn_fallback.cache_clear()
    monkeypatch.setattr(sb, "_probe_bwrap", lambda python: sb._BwrapProbe(False, False, "bwrap not installed"))
    cfg = sb.SandboxConfig(timeout_s=3, memory_mb=256)
    with pytest.warns(RuntimeWarning, match="namespaces built with unshare"):
        level = sb.isolation_level(cfg)
    assert "namespaces(net: no network" in level and "bwrap not used: bwrap not installed" in level
    assert sb.run_stdio_test("print(input())", {"input": "hi\n", "output": "hi\n"}, cfg).status == "passed"


# ---------------------------------------------------------------------------------------- time limits


BUSY = "while True:\n    pass"
CATCHES_SIGXCPU = "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass"


@pytest.mark.parametrize("mode", ["bubblewrap", "process-group", "process-group-bare"])
def test_a_busy_loop_killed_by_the_watchdog_is_a_timeout(mode: str) -> None:
    ex = sb.run_stdio_test(BUSY, {"input": "", "output": "x"}, config(mode, timeout_s=1.0))
    assert (ex.status, ex.detail) == ("timeout", "wall-clock timeout"), ex


@pytest.mark.parametrize("mode", ["bubblewrap", "process-group", "process-group-bare"])
@pytest.mark.parametrize("code", [BUSY, CATCHES_SIGXCPU], ids=["sigxcpu", "sigxcpu-ignored-then-sigkill"])
def test_a_busy_loop_stopped_by_the_cpu_limit_is_a_timeout(mode: str, code: str) -> None:
    """RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL a second later for a program that ignores it (and for a
    namespace's PID 1, which the kernel spares SIGXCPU): both are timeouts, not runtime errors."""
    ex = sb.run_stdio_test(code, {"input": "", "output": "x"}, config(mode, timeout_s=20.0, cpu_time_s=1.0))
    assert (ex.status, ex.detail) == ("timeout", "CPU-time limit"), ex
    assert not ex.timed_out and ex.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    assert ex.wall_time_s < 15


def test_a_sigkill_below_the_cpu_limit_is_still_a_runtime_error() -> None:
    code = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    ex = sb.run_stdio_test(code, {"input": "", "output": "x"}, config("process-group-bare"))
    assert (ex.status, ex.detail) == ("runtime_error", "killed by signal SIGKILL")


USERNS_DRIVER = """
import json
from lightning_lora.benchmark import sandbox as sb
cfg = sb.SandboxConfig(isolation='process-group', timeout_s=5, memory_mb=256)
code = ("import os, socket\\ntry:\\n    socket.create_connection(('127.0.0.1', 9), 1)\\nexcept OSError as e:\\n"
        "    print(e.errno)\\nprint(os.getuid(), os.getpid(), os.listdir('/tmp'))\\n"
        "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])\\nopen('/tmp/x', 'w').write('x')")
ex = sb.run_program(code, '', cfg)
print(json.dumps([sb._probe_namespaces(sb.base_interpreter()).works, sb.isolation_level(cfg), ex.stdout, ex.stderr_tail]))
"""


@pytest.mark.skipif(os.getuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv to become nobody")
def test_an_unprivileged_evaluator_gets_the_namespaces_through_a_user_namespace(tmp_path: Path) -> None:
    """The same fallback run by a user without privileges: unshare(CLONE_NEWUSER) maps it to root inside."""
    os.chmod(tmp_path, 0o777)
    argv = ["setpriv", f"--reuid={sb.NOBODY}", f"--regid={sb.NOBODY}", "--clear-groups", "--", sys.executable, "-c",
            USERNS_DRIVER]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO,
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
                              "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-2000:]
    works, level, stdout, stderr = json.loads(out.stdout.splitlines()[-1])
    if not works:  # unprivileged user namespaces are off here (sysctl): said so, and every pass unverified
        assert "namespaces unavailable" in level
        pytest.skip(f"unprivileged user namespaces are not permitted here: {level}")
    assert "user namespace (root inside, this user outside)" in level
    assert stdout.splitlines() == ["101", "0 1 []", "0000000000000000"], stderr

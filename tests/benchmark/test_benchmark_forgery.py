"""Verdicts a program cannot forge: hostile completions under each isolation are never recorded as passed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from benchmark_helpers import cgroup_works, namespaces_work
from forgery_attacks import (
    ATTACKS,
    CANONICAL,
    COMPUTED_TEST,
    PROMPT,
    STATIC_TEST,
    WRONG,
)

from lightning_lora.benchmark import sandbox as sb
from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.problems.sources import Problem, ProblemSet

ISOLATIONS = {"bubblewrap": {"isolation": "bubblewrap"}, "process-group": {"isolation": "process-group"},
              # no namespaces, as where unshare is not permitted: every verdict forgeable, no pass counted
              "process-group-bare": {"isolation": "process-group", "namespaces": False}}


def contained(cfg: sb.SandboxConfig) -> bool:
    return sb._use_bwrap(cfg) or (cfg.namespaces and namespaces_work())


def config(mode: str, **kw) -> sb.SandboxConfig:
    if mode == "bubblewrap" and not sb._use_bwrap(sb.SandboxConfig()):
        pytest.skip("bubblewrap is not installed or does not work here")
    return sb.SandboxConfig(**{"timeout_s": 4.0, "memory_mb": 256, "output_limit_mb": 1, **ISOLATIONS[mode], **kw})


def add_problem(test: str) -> Problem:
    return Problem("add", PROMPT, "function", [], "add", test, {"canonical_solution": CANONICAL})


@pytest.mark.parametrize("mode", list(ISOLATIONS))
@pytest.mark.parametrize("test", [STATIC_TEST, COMPUTED_TEST], ids=["literal-asserts", "computed-asserts"])
def test_no_attack_is_recorded_as_passed(mode: str, test: str) -> None:
    names = ["honest", "wrong", *ATTACKS]
    samples = [{"task_id": "add", "completion": c} for c in [CANONICAL, WRONG, *ATTACKS.values()]]
    cfg = config(mode)
    results = evaluate([add_problem(test)], samples, workers=2, sandbox=cfg, progress=False)
    status = {name: r["status"] for name, r in zip(names, results["samples"])}
    details = {name: r["detail"] for name, r in zip(names, results["samples"])}
    assert status.pop("honest") == "passed", details["honest"]
    assert {n: s for n, s in status.items() if s == "passed"} == {}
    assert status["wrong"] == "wrong_answer"
    assert status["trailing_decorator"] == "syntax_error"  # the completion is compiled alone, not with the test
    for name in ("eq_always_true", "int_subclass_eq_true", "float_subclass_sub_zero", "str_subclass_eq_true", "nan",
                 "generator", "patched_encoder", "harness_emit_from_frame", "prints_a_record"):
        assert status[name] == "wrong_answer", (name, details[name])
    assert status["forged_records_on_every_fd"] == "forged"
    if contained(cfg):  # without namespaces its walk over the host's /work may run out of time instead
        assert status["reads_the_tests"] == "wrong_answer", details["reads_the_tests"]
    assert status["stdin_marker_then_exit"] == "runtime_error"
    assert status["sleeps_past_timeout"] == "timeout"
    assert status["huge_result"] == "wrong_answer" and "output limit" in details["huge_result"]
    assert "got a T (only builtin data is compared)" in details["eq_always_true"]
    if contained(cfg):
        assert all(r["verdict"] == "trusted" for r in results["samples"])
        assert results["summary"]["verdicts"]["forgeable_samples"] == 0
        assert results["summary"]["pass@k"]["pass@1"] == pytest.approx(1 / len(samples))  # the honest one of n
    else:  # the host's files and network were within reach: even the honest pass is not counted
        assert {r["verdict"] for r in results["samples"]} == {"forgeable"}
        assert results["summary"]["problems_passed"] == 0 and results["summary"]["pass@k"]["pass@1"] == 0.0
        assert results["summary"]["verdicts"]["passed_unverified"] == 1


def test_the_candidate_sandbox_holds_no_test_and_no_expected_value(tmp_path: Path) -> None:
    """Everything the candidate can see: its own program text and stdin; neither holds the test or an answer."""
    secret = f"9{uuid.uuid4().int % 10**12:012d}"  # the spy knows only its shape: 9 and 12 digits
    test = f"def check(candidate):\n    assert candidate(1, 2) == {secret}\n"
    # Under process-group isolation /tmp is the host's (other runs' files included): the spy reads two levels
    # deep, where the sandbox's own folder and anything written beside it sit, and checks each file at once.
    spy = ("    import gc, os, re, sys\n    pattern = re.compile('(== |return )9[0-9]{11}')\n"
           "    found = any(pattern.search(t) for t in (open('main.py').read(), repr(sys._getframe(1).f_locals)))\n"
           "    for d, dirs, files in os.walk('/tmp'):\n"
           "        if d.count(os.sep) >= 3:\n            dirs[:] = []\n"
           "        for f in files:\n            try:\n"
           "                found = found or bool(pattern.search(open(os.path.join(d, f), errors='ignore').read(1 << 16)))\n"
           "            except OSError:\n                pass\n"
           "    found = found or any(isinstance(o, str) and pattern.search(o) for o in gc.get_objects())\n"
           "    return int(found)\n")
    problem = Problem("p", PROMPT, "function", [], "add", test, {"canonical_solution": f"    return {secret}\n"})
    for mode in ISOLATIONS:
        if mode == "bubblewrap" and not sb._use_bwrap(sb.SandboxConfig()):
            continue
        record = evaluate([problem], [{"task_id": "p", "completion": spy}], sandbox=config(mode),
                          progress=False)["samples"][0]
        assert record["status"] == "wrong_answer" and "got 0" in record["detail"], (record["detail"], record["stderr_tail"])


UNDECOMPOSABLE_TEST = "def check(candidate):\n    s = candidate(2, 3)\n    assert s * 2 == 10\n"


def test_undecomposable_check_falls_back_and_is_marked_forgeable() -> None:
    samples = [{"task_id": "add", "completion": c} for c in (CANONICAL, WRONG)]
    results = evaluate([add_problem(UNDECOMPOSABLE_TEST)], samples, sandbox=config("process-group"), progress=False)
    assert [r["status"] for r in results["samples"]] == ["passed", "wrong_answer"]
    assert {r["verdict"] for r in results["samples"]} == {"forgeable"}
    assert all(r["verdict_reason"].startswith("check() ran beside the candidate") for r in results["samples"])
    summary = results["summary"]
    assert summary["verdicts"]["forgeable_problems"] == 1
    assert summary["verdicts"]["forgeable_samples"] == 2
    # The pass rests on check() run inside the candidate's interpreter: reported beside pass@k, not in it.
    assert summary["pass@k"]["pass@1"] == 0.0 and summary["problems_passed"] == 0
    assert summary["pass@k_including_unverified"]["pass@1"] == 0.5
    assert summary["problems_passed_unverified"] == 1 and summary["verdicts"]["passed_unverified"] == 1
    assert summary["counts_by_status"]["passed"] == 0 and summary["counts_by_status"]["passed_unverified"] == 1
    assert results["problems"][0]["status"] == "passed_unverified" and not results["problems"][0]["passed"]


@pytest.mark.parametrize("mode", list(ISOLATIONS))
def test_a_forged_pass_on_a_forgeable_verdict_does_not_count(mode: str) -> None:
    """check() runs beside the candidate, so issue 12's nonce echo forges a pass there: it must not reach pass@1."""
    samples = [{"task_id": "add", "completion": ATTACKS["stdin_marker_then_exit"]}]
    results = evaluate([add_problem(UNDECOMPOSABLE_TEST)], samples, sandbox=config(mode), progress=False)
    record = results["samples"][0]
    assert record["status"] == "passed" and record["verdict"] == "forgeable"  # forged, and marked as forgeable
    assert results["summary"]["pass@k"]["pass@1"] == 0.0 and results["summary"]["problems_passed"] == 0
    assert results["summary"]["problems_passed_unverified"] == 1


def test_empty_completion_is_no_code() -> None:
    results = evaluate([add_problem(STATIC_TEST)], [{"task_id": "add", "completion": "  \n"}], progress=False)
    assert results["samples"][0]["status"] == "no_code"


# ---------------------------------------------------------------------------------------- stdin/stdout


SEARCHER = """
import os, sys
needle = NEEDLE_REVERSED[::-1]  # this test's secret, not written forwards, or the program finds its own source
found = []
def look(text):
    i = text.find(needle)
    if i >= 0:
        found.append(text[i:i + 60].split()[0])
for k, v in os.environ.items():
    look(k + '=' + v)
roots = ['/tmp', '/dev/shm', '/var/tmp', '/run', os.getcwd(), os.environ.get('HOME', '/')]
for root in roots:
    for d, dirs, files in os.walk(root):
        if d.startswith(('/proc', '/sys', '/usr', '/dev')) or d.count('/') > 8:
            dirs[:] = []
            continue
        for f in files:
            try:
                look(open(os.path.join(d, f), errors='ignore').read(1 << 20))
            except Exception:
                pass
for p in ['self/environ', 'self/cmdline', f'{os.getppid()}/environ', f'{os.getppid()}/cmdline', '1/cmdline']:
    try:
        look(open('/proc/' + p, errors='ignore').read())
    except Exception:
        pass
for fd in os.listdir('/proc/self/fd'):
    try:
        look(open('/proc/self/fd/' + fd, errors='ignore').read(1 << 20))
    except Exception:
        pass
print(found[0] if found else 'nothing found')
"""


@pytest.mark.parametrize("mode", list(ISOLATIONS))
def test_stdio_expected_output_is_not_readable_in_the_sandbox(mode: str, tmp_path: Path) -> None:
    """A program that searches the file system, its environment and /proc for the expected output finds nothing."""
    cfg = config(mode, timeout_s=20.0, output_limit_mb=4)
    expected = f"expected-{uuid.uuid4().hex}\n"
    problem = Problem("find", "print the secret", tests=[{"input": "no hint here\n", "output": expected}])
    # Only this test's own secret counts: other runs' files under a shared /tmp may hold theirs.
    searcher = SEARCHER.replace("NEEDLE_REVERSED", repr(expected.strip()[::-1]))
    if mode != "process-group-bare":
        # A user's problem file on the host: out of reach without a mount of it. (Without namespaces,
        # host files the program's user may read are reachable: the isolation label says so, and
        # test_a_candidate_reading_the_problems_file_does_not_pass shows such a pass is not counted.)
        (tmp_path / "problems.jsonl").write_text(json.dumps({"task_id": "find", "prompt": "",
                                                             "tests": problem.tests}) + "\n")
    results = evaluate(ProblemSet("s", [problem]), [{"task_id": "find", "completion": searcher}], sandbox=cfg,
                       extract=False, progress=False)
    record = results["samples"][0]
    assert record["status"] == "wrong_answer", record
    if mode.startswith("process-group") and not cgroup_works() and not contained(cfg):
        return
    ex = sb.run_program(searcher, "", cfg)
    assert ex.stdout.strip() == "nothing found", ex.stdout

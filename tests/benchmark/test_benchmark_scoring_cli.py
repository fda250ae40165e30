"""Scoring (pass@k, conventions, statuses) and the samples-only command line, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.benchmark.scoring import evaluate, read_samples
from lightning_lora.problems.sources import Problem, ProblemSet

ADD = "a, b = map(int, input().split())\nprint(a + b)"
PROBLEMS = ProblemSet("toy", [
    Problem("add", "add", tests=[{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]),
    Problem("mul", "mul", tests=[{"input": "2 3\n", "output": "6\n"}]),
    Problem("unsampled", "nothing generated", tests=[{"input": "", "output": "x"}]),
])


def test_pass_at_k_and_seed_convention() -> None:
    samples = [
        {"task_id": "add", "completion": f"```python\n{ADD}\n```"},
        {"task_id": "add", "completion": "print(3)"},  # passes test 0, fails test 1
        {"task_id": "mul", "completion": ""},
        {"task_id": "mul", "completion": "<think>only thoughts</think>"},
    ]
    results = evaluate(PROBLEMS, samples, k=(1, 2), timeout_s=3, workers=2, progress=False)
    s = results["summary"]
    # add: n=2, c=1; mul: n=2, c=0 (no code); unsampled: failure. Denominator: all 3 problems.
    assert s["pass@k"] == {"pass@1": pytest.approx(0.5 / 3), "pass@2": pytest.approx(1 / 3)}
    # The seed's convention drops problems whose samples all had no code (mul) and unsampled ones.
    assert s["seed_convention"]["num_problems"] == 1
    assert s["seed_convention"]["pass@k"] == {"pass@1": pytest.approx(0.5), "pass@2": pytest.approx(1.0)}
    assert s["counts_by_status"]["passed"] == 1 and s["counts_by_status"]["no_code"] == 2
    assert s["problems_without_samples"] == 1 and s["problem_set"] == "toy" and s["test_mode"] == "all"
    records = {(r["task_id"], r["sample_index"]): r for r in results["samples"]}
    assert records[("add", 1)]["status"] == "wrong_answer" and records[("add", 1)]["first_failing_test"] == 1
    assert records[("add", 0)]["first_failing_test"] is None
    assert [p["n"] for p in results["problems"]] == [2, 2, 0]
    assert results["problems"][2]["status"] == "no_sample"


def test_stops_at_first_failing_test() -> None:
    # Test 0 fails; test 1 would hang for the whole timeout if it ran.
    problem = Problem("p", "p", tests=[{"input": "0\n", "output": "1\n"}, {"input": "hang\n", "output": "x\n"}])
    code = "s = input()\nif s == 'hang':\n    while True: pass\nprint(0)"
    results = evaluate([problem], [{"task_id": "p", "completion": code}], timeout_s=3, progress=False)
    record = results["samples"][0]
    assert record["status"] == "wrong_answer" and record["first_failing_test"] == 0
    assert record["wall_time_s"] < 2


def test_k_above_samples_is_not_reported() -> None:
    results = evaluate(PROBLEMS, [{"task_id": "add", "completion": ADD}], k=(1, 5), timeout_s=3, progress=False)
    assert results["summary"]["pass@k"]["pass@5"] is None
    assert results["summary"]["pass@k"]["pass@1"] == pytest.approx(1 / 3)


def test_unknown_task_id_is_refused() -> None:
    with pytest.raises(ValueError, match="'nope', which is not in the problem set"):
        evaluate(PROBLEMS, [{"task_id": "nope", "completion": ADD}], progress=False)


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    problems = write(tmp_path / "problems.jsonl", [
        {"task_id": "add", "prompt": "add", "tests": [{"input": "1 2\n", "output": "3\n"}]},
        {"task_id": "loop", "prompt": "loop", "tests": [{"input": "", "output": "1\n"}]},
    ])
    samples = write(tmp_path / "samples.jsonl", [
        {"task_id": "add", "completion": f"```python\n{ADD}\n```"},
        {"task_id": "add", "completion": "print(4)"},
        {"task_id": "loop", "completion": "while True: pass"},
        {"task_id": "loop", "completion": "print(1)"},
    ])
    output = tmp_path / "out" / "results.json"
    code = main(["benchmark", "--problems", str(problems), "--samples", str(samples), "--output", str(output), "--k", "[1,2]",
                 "--timeout_s", "2", "--workers", "2", "--progress", "false"])
    assert code == 0
    assert "pass@1" in capsys.readouterr().out
    results = json.loads(output.read_text())
    assert set(results) == {"summary", "problems", "samples"}
    summary = results["summary"]
    for key in ("pass@k", "counts_by_status", "problem_set", "test_mode", "isolation", "num_problems",
                "num_samples", "seed_convention"):
        assert key in summary
    assert summary["pass@k_including_unverified"] == {"pass@1": 0.5, "pass@2": 1.0}
    assert summary["counts_by_status"]["timeout"] == 1
    for record in results["samples"]:
        assert set(record) >= {"task_id", "sample_index", "status", "first_failing_test", "stderr_tail", "wall_time_s",
                               "verdict"}
    from lightning_lora.benchmark.sandbox import SandboxConfig, unverified_reason

    if unverified_reason(SandboxConfig()) is None:  # bubblewrap or unshare namespaces: every verdict trusted
        assert summary["pass@k"] == {"pass@1": 0.5, "pass@2": 1.0}
        assert results["problems"][0] == {"task_id": "add", "passed": True, "n": 2, "c": 1, "passed_unverified": 0,
                                          "status": "passed"}
        assert all(record["verdict"] == "trusted" for record in results["samples"])
    else:  # neither here: the pass is reported beside pass@k, not in it
        assert summary["pass@k"] == {"pass@1": 0.0, "pass@2": 0.0}
        assert results["problems"][0]["passed_unverified"] == 1


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing_samples", "does not exist"),
        ("unknown_task", "not in the problem set"),
        ("bad_line", "line 2 is not valid JSON"),
        ("no_completion", "line 1: field 'completion'"),
        ("bad_option", "Expected a <class 'list'>"),
        ("empty_samples", "holds no samples"),
    ],
)
def test_cli_bad_input_is_one_sentence_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, case: str,
                                                  message: str) -> None:
    problems = write(tmp_path / "p.jsonl", [{"task_id": "a", "prompt": "a", "tests": [{"input": "", "output": ""}]}])
    samples = tmp_path / "s.jsonl"
    rows = {"unknown_task": [{"task_id": "zzz", "completion": ""}],
            "bad_line": [{"task_id": "a", "completion": ""}, "{"],
            "no_completion": [{"task_id": "a"}]}.get(case, [{"task_id": "a", "completion": ""}])
    if case == "empty_samples":
        samples.write_text("\n")
    elif case != "missing_samples":
        write(samples, rows)
    argv = ["benchmark", "--problems", str(problems), "--samples", str(samples), "--progress", "false"]
    argv += ["--k", "one"] if case == "bad_option" else []
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("error: ") and "Traceback" not in err and len(err.splitlines()) == 1


def test_read_samples_roundtrip(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", [{"task_id": "a", "completion": "x", "extra": 1}, ""])
    assert read_samples(path) == [{"task_id": "a", "completion": "x", "extra": 1}]


def test_no_samples_is_an_error_not_a_zero_pass_rate() -> None:
    with pytest.raises(ValueError, match="No samples to score"):
        evaluate(PROBLEMS, [], progress=False)


def test_a_model_folder_is_benchmarked_as_it_is(in_tmp: Path, tiny_qwen2: Path, capsys: pytest.CaptureFixture) -> None:
    """``benchmark --model``: no training config; the instruct protocol by default; results and samples written
    where --output says, the cut replies counted (a 3-token budget cuts them)."""
    problems = in_tmp / "fn.jsonl"
    problems.write_text(json.dumps({"task_id": "add", "prompt": "def add(a, b):\n    \"\"\"The sum.\"\"\"\n",
                                    "entry_point": "add", "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"})
                        + "\n")
    code = main(["benchmark", "--model", str(tiny_qwen2), "--problems", str(problems), "--max_new_tokens", "3",
                 "--output", "out/add.results.json", "--progress", "false", "--timeout_s", "5"])
    assert code == 0
    results = json.loads((in_tmp / "out" / "add.results.json").read_text())
    samples = [json.loads(line) for line in (in_tmp / "out" / "add.samples.jsonl").read_text().splitlines()]
    assert results["summary"]["generation"]["prompt_style"] == "evalplus"
    assert samples[0]["completion"].startswith("```python\n")
    assert results["summary"]["truncated"]["samples"] == sum(s["truncated"] for s in samples)
    assert "cut at the token budget" in capsys.readouterr().out


def test_a_model_without_problems_is_one_line(in_tmp: Path, tiny_qwen2: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["benchmark", "--model", str(tiny_qwen2)]) == 2
    assert "benchmark --model needs --problems" in capsys.readouterr().err

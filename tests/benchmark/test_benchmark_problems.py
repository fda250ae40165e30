"""Problem loaders: local jsonl, LiveCodeBench rows (filters, test modes, safe decoding), HumanEval."""

from __future__ import annotations

import base64
import json
import os
import pickle
import re
import zlib
from pathlib import Path

import pytest

from lightning_lora.problems.sources import (
    decode_private_tests,
    load_livecodebench,
    load_problems,
)


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def encode_private(tests: list[dict]) -> str:
    """LiveCodeBench's encoding: base64(zlib(pickle(JSON string)))."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


GOOD = {"task_id": "a", "prompt": "add", "tests": [{"input": "1 2\n", "output": "3\n"}]}
FUNCTION = {"task_id": "f", "prompt": "def f(x):\n", "entry_point": "f",
            "test": "def check(candidate):\n    assert candidate(1) == 2\n"}


def test_jsonl_loads(tmp_path: Path) -> None:
    ps = load_problems(write_jsonl(tmp_path / "p.jsonl", [GOOD, {**GOOD, "task_id": "b"}]))
    assert [p.task_id for p in ps] == ["a", "b"]
    assert ps.problems[0].kind == "stdio" and ps.problems[0].tests == GOOD["tests"]


def test_jsonl_of_function_problems_in_humaneval_format_loads(tmp_path: Path) -> None:
    ps = load_problems(write_jsonl(tmp_path / "p.jsonl", [FUNCTION, GOOD]))
    assert [(p.kind, p.entry_point) for p in ps] == [("function", "f"), ("stdio", None)]


@pytest.mark.parametrize(
    "rows, message",
    [
        ([GOOD, "{not json"], "line 2 is not valid JSON"),
        ([{"prompt": "x", "tests": GOOD["tests"]}], "line 1: field 'task_id'"),
        ([{**GOOD, "tests": []}], "line 1: field 'tests' is empty"),
        ([{**GOOD, "tests": [{"input": "1"}]}], "line 1: field 'tests[0]'"),
        ([GOOD, GOOD], "line 2: field 'task_id' repeats"),
        ([{**FUNCTION, "entry_point": None}], "line 1: field 'entry_point' is missing"),
        ([{**FUNCTION, "test": "assert f(1) == 2"}], "line 1: field 'test' defines no check(candidate)"),
        ([], "holds no problems"),
    ],
)
def test_jsonl_errors_name_file_line_and_field(tmp_path: Path, rows: list, message: str) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    with pytest.raises(ValueError, match=re.escape(message)) as e:
        load_problems(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_missing_file_and_unknown_spec(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_problems(tmp_path / "nope.jsonl")
    with pytest.raises(ValueError, match="Unknown problem set"):
        load_problems("no-such-set")


def lcb_row(qid: str, date: str, platform: str = "atcoder", difficulty: str = "easy", private: str | None = None,
            testtype: str = "stdin") -> dict:
    public = [{"input": f"{qid}\n", "output": "pub\n", "testtype": testtype}]
    hidden = [{"input": f"{qid}-hidden\n", "output": "priv\n", "testtype": testtype}]
    return {
        "question_id": qid, "question_title": qid, "question_content": f"statement {qid}", "platform": platform,
        "difficulty": difficulty, "contest_id": "abc", "contest_date": f"{date}T00:00:00",
        "public_test_cases": json.dumps(public),
        "private_test_cases": encode_private(hidden) if private is None else private,
        "metadata": "{}", "starter_code": "",
    }


def test_livecodebench_filters_dates_inclusive_and_test_modes(tmp_path: Path) -> None:
    rows = [
        lcb_row("before", "2024-07-31"), lcb_row("first", "2024-08-01"), lcb_row("last", "2025-02-28"),
        lcb_row("after", "2025-03-01"), lcb_row("hard", "2024-09-01", difficulty="hard"),
        lcb_row("cf", "2024-09-01", platform="codeforces"),
        lcb_row("plain_json", "2024-10-01",
                private=json.dumps([{"input": "x\n", "output": "y\n", "testtype": "stdin"}])),
        lcb_row("leetcode", "2024-10-02", testtype="functional"),
    ]
    path = write_jsonl(tmp_path / "lcb.jsonl", rows)
    ps = load_problems(f"lcb-atcoder-easy:{path}")
    assert [p.task_id for p in ps] == ["first", "last", "plain_json"]
    assert ps.name == "lcb-atcoder-easy" and ps.test_mode == "all"
    assert ps.skipped == {"functional (LeetCode-style) tests": 1}
    assert ps.filters == {"platform": "atcoder", "difficulty": "easy", "start_date": "2024-08-01",
                          "end_date": "2025-02-28"}
    first = ps.problems[0]
    assert first.tests == [{"input": "first\n", "output": "pub\n"}, {"input": "first-hidden\n", "output": "priv\n"}]
    assert ps.problems[2].tests[1] == {"input": "x\n", "output": "y\n"}

    public = load_problems(f"livecodebench:{path}", platform="atcoder", difficulty="easy", start_date="2024-08-01",
                           end_date="2025-02-28", test_mode="public")
    assert public.test_mode == "public" and all(len(p.tests) == 1 for p in public)
    assert len(load_livecodebench(path)) == 7  # no filter: all but the functional one


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    blob = base64.b64encode(zlib.compress(pickle.dumps(Evil()))).decode()
    with pytest.raises(ValueError, match="refused"):
        decode_private_tests(blob)
    assert not marker.exists()
    # Only a string may come out, even when no global is needed to build the object.
    not_a_string = base64.b64encode(zlib.compress(pickle.dumps([{"input": "1", "output": "1"}]))).decode()
    with pytest.raises(ValueError, match="expected a JSON string"):
        decode_private_tests(not_a_string)
    # A row carrying the evil blob is refused as a whole, naming the row.
    path = write_jsonl(tmp_path / "lcb.jsonl", [lcb_row("evil", "2024-09-01", private=blob)])
    with pytest.raises(ValueError, match="row 1 \\(evil\\)"):
        load_livecodebench(path)
    assert not marker.exists()


def test_livecodebench_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_livecodebench(tmp_path / "missing.jsonl")
    path = write_jsonl(tmp_path / "lcb.jsonl", [lcb_row("a", "2024-09-01")])
    with pytest.raises(ValueError, match="No LiveCodeBench problem"):
        load_livecodebench(path, platform="leetcode")
    with pytest.raises(ValueError, match="LiveCodeBench only"):
        load_problems("humaneval", test_mode="public")


def test_humaneval_from_package_data() -> None:
    ps = load_problems("humaneval")
    assert len(ps) == 164 and ps.name == "humaneval"
    first = ps.problems[0]
    assert first.task_id == "HumanEval/0" and first.kind == "function"
    assert first.entry_point == "has_close_elements" and "def check(candidate)" in first.test
    assert "canonical_solution" in first.metadata


def test_livecodebench_test_case_without_input_is_one_line_naming_the_row(tmp_path: Path) -> None:
    bad = {**lcb_row("abc999_z", "2024-09-01"), "public_test_cases": json.dumps([{"output": "1\n", "testtype": "stdin"}])}
    path = write_jsonl(tmp_path / "rows.jsonl", [lcb_row("abc999_a", "2024-09-01"), bad])
    with pytest.raises(ValueError, match=re.escape("row 2 (abc999_z): test case 1 has no 'input'")) as e:
        load_livecodebench(path)
    assert "\n" not in str(e.value)

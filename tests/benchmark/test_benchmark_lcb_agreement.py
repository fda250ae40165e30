"""Our stdin/stdout verdicts agree with LiveCodeBench's grader on LiveCodeBench-format rows.

LiveCodeBench's grader (``lcb_runner/evaluation/testing_util.py``, ``grade_stdio``) is not a PyPI package,
so each expected verdict below is worked out by hand from its rule: strip the whole output and each line,
the line counts must match, and a line that differs as text passes when both lines split into tokens that
all parse as ``Decimal`` and are equal.
"""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path

from lightning_lora.benchmark.scoring import evaluate
from lightning_lora.problems.sources import load_livecodebench

EXPECTED = "1.500000\n2 3\n"
#: (program, LiveCodeBench's verdict by its rule, why)
CASES = [
    ("print('1.5')\nprint('2 3')", True, "1.5 = 1.500000 as Decimal"),
    ("print('1.500000 ')\nprint('  2 3')", True, "each line stripped"),
    ("print()\nprint('1.500000')\nprint('2 3')\nprint()", True, "the whole output stripped"),
    ("print('1.5e0')\nprint('2 3')", True, "1.5e0 parses as Decimal 1.5"),
    ("print('1.500000')\nprint('2  3')", True, "tokens split on any whitespace"),
    ("print('1.5000001')\nprint('2 3')", False, "no tolerance"),
    ("print('1.500000')\nprint()\nprint('2 3')", False, "an inner blank line changes the line count"),
    ("print('1.500000')\nprint('two 3')", False, "a token that is not a number"),
    ("print('1.500000 2 3')", False, "line count"),
]


def lcb_rows(path: Path) -> Path:
    hidden = [{"input": "y\n", "output": EXPECTED, "testtype": "stdin"}]
    row = {"question_id": "abc001_a", "question_title": "t", "question_content": "print 1.5 then 2 3",
           "platform": "atcoder", "difficulty": "easy", "contest_id": "abc001", "contest_date": "2024-09-01T00:00:00",
           "public_test_cases": json.dumps([{"input": "x\n", "output": EXPECTED, "testtype": "stdin"}]),
           "private_test_cases": base64.b64encode(zlib.compress(pickle.dumps(json.dumps(hidden)))).decode(),
           "metadata": "{}", "starter_code": ""}
    path.write_text(json.dumps(row) + "\n")
    return path


def test_verdicts_agree_with_livecodebench_rule(tmp_path: Path) -> None:
    problems = load_livecodebench(lcb_rows(tmp_path / "rows.jsonl"))
    assert len(problems.problems[0].tests) == 2  # public + private
    samples = [{"task_id": "abc001_a", "completion": program} for program, _, _ in CASES]
    results = evaluate(problems, samples, timeout_s=5, workers=2, extract=False, progress=False)
    ours = [r["status"] == "passed" for r in results["samples"]]
    assert ours == [verdict for _, verdict, _ in CASES], [why for (_, v, why), o in zip(CASES, ours) if v != o]
    assert {r["status"] for r in results["samples"]} == {"passed", "wrong_answer"}

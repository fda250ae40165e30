"""The committed study: the two arms' configs differ only in their data and run name, and the committed teacher
data and training sets are what data/study/README.md says (verified answers of training families only, DEEP and
DIVERSE at equal solution tokens, a shared validation split)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml

from lightning_lora.problems.bank.split import HELDOUT

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "data" / "study"


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (STUDY / name).read_text().splitlines() if line.strip()]


def test_the_arms_differ_only_in_data_and_run_name():
    deep, diverse = (yaml.safe_load((REPO / "configs" / "study" / f"{arm}.yaml").read_text())
                     for arm in ("deep", "diverse"))
    assert (deep["run_name"], diverse["run_name"]) == ("study-deep", "study-diverse")
    assert (deep["data"]["init_args"]["path"], diverse["data"]["init_args"]["path"]) == \
        ("data/study/deep.jsonl", "data/study/diverse.jsonl")
    for config in (deep, diverse):
        del config["run_name"], config["data"]["init_args"]["path"]
    assert deep == diverse
    benchmark = deep["trainer"]["callbacks"][0]["init_args"]
    assert benchmark["benchmark_base"] is True and benchmark["settings"]["problems"] == "atcoder-style-easy"
    assert deep["eval_every_n_steps"] == deep["checkpoint"]["every_n_train_steps"] == 20
    assert deep["data"]["init_args"]["mode"] == "solution"


def test_teacher_rows_are_verified_answers_to_training_problems_only():
    rows, problems = _rows("teacher.jsonl"), _rows("teacher.problems.jsonl")
    for r in rows:  # "passed n/n tests": every hidden test
        passed, of = r["verdict"].removeprefix("passed ").removesuffix(" tests").split("/")
        assert r["verdict"].startswith("passed ") and passed == of and int(of) >= 10, r["verdict"]
    assert not {r["family"] for r in rows} & set(HELDOUT)
    kept = Counter(r["problem_id"] for r in rows)
    assert {p["problem_id"]: p["passed"] for p in problems if p["passed"]} == dict(kept)
    assert all(r["teacher"] == "real:qwen2.5-coder-1.5b-instruct" and r["solution"].strip() for r in rows)


def test_deep_and_diverse_sets_match_their_summary():
    summary = json.loads((STUDY / "sets.json").read_text())
    for arm in ("deep", "diverse"):
        train = [r for r in _rows(f"{arm}.jsonl") if r.get("split", "train") == "train"]
        assert len(train) == summary[arm]["rows"]
        assert len({r["problem_id"] for r in train}) == summary[arm]["problems"]
    assert abs(summary["deep"]["tokens"] - summary["diverse"]["tokens"]) <= 0.05 * summary["deep"]["tokens"]
    assert summary["deep"]["rows"] == summary["deep"]["problems"]


def test_each_masked_arm_is_its_arm_with_the_statement_in_the_prompt():
    for arm in ("deep", "diverse"):
        plain, masked = (yaml.safe_load((REPO / "configs" / "study" / f"{name}.yaml").read_text())
                         for name in (arm, f"{arm}_masked"))
        assert masked["run_name"] == f"study-{arm}-masked" and masked["data"]["init_args"]["mode"] == "prompt_solution"
        for config in (plain, masked):
            del config["run_name"], config["data"]["init_args"]["mode"]
        assert plain == masked

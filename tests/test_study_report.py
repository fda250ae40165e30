"""The study report: base and each arm's best checkpoint, problem by problem, with exact paired tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.reporting.study import mcnemar_exact

PROBLEMS = [f"heldout/p{i}" for i in range(10)]


def _write(folder: Path, name: str, solved: set[int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    problems = [{"task_id": t, "passed": i in solved} for i, t in enumerate(PROBLEMS)]
    (folder / name).write_text(json.dumps({"summary": {}, "problems": problems, "samples": []}))


def test_exact_mcnemar_matches_the_binomial_by_hand():
    a = {t: True for t in "abcde"}
    b = {t: False for t in "abcde"}
    assert mcnemar_exact(a, b) == (5, 0, 0.0625)  # 2 * 0.5**5
    assert mcnemar_exact(b, a) == (0, 5, 0.0625)
    assert mcnemar_exact(a, a) == (0, 0, 1.0)
    assert mcnemar_exact({"x": True, "y": False}, {"x": False, "y": True}) == (1, 1, 1.0)
    assert mcnemar_exact({"a": True, "b": True}, {"a": False, "b": False})[2] == 0.5


def test_report_study_tables_gains_losses_and_plots(in_tmp, capsys):
    deep, diverse = in_tmp / "checkpoints" / "deep", in_tmp / "checkpoints" / "diverse"
    for arm in (deep, diverse):
        _write(arm, "base.results.json", {0, 1, 2})
    _write(deep, "step000020.results.json", {0, 1, 2, 3})
    _write(deep, "step000040.results.json", {0, 1, 3, 4})  # a tie with step 20: the earlier is best
    _write(diverse, "step000020.results.json", {0, 3, 4, 5, 6})
    _write(diverse, "step000040.results.json", {0, 1, 2})
    assert main(["report", "--study", "deep", "diverse", "--output_dir", "reports/study"]) == 0
    out = capsys.readouterr().out
    assert "| base | step 0 (adapter off) | 0.300 | 3/10 |" in out
    assert "| deep | best: step 20 | 0.400 | 4/10 |" in out and "| deep | last: step 40 | 0.400 | 4/10 |" in out
    assert "| diverse | best: step 20 | 0.500 | 5/10 |" in out
    assert "- deep: gained 1 (heldout/p3); lost 0 (none)" in out
    assert "- diverse: gained 4 (heldout/p3, heldout/p4, heldout/p5, heldout/p6); lost 2 (heldout/p1, heldout/p2)" in out
    assert "| deep vs diverse | 2 | 3 | 1.000 |" in out  # deep only {p1, p2}, diverse only {p4, p5, p6}
    assert "| diverse vs base | 4 | 2 | 0.688 |" in out
    for name in ("study.md", "study.json", "study_pass1.png", "study_losses.png"):
        assert (in_tmp / "reports" / "study" / name).is_file()
    assert json.loads((in_tmp / "reports" / "study" / "study.json").read_text())["diverse"]["best_step"] == 20


def test_report_study_names_a_missing_or_empty_arm(in_tmp, capsys):
    assert main(["report", "--study", "nothing"]) == 2
    assert "checkpoints/nothing is not a folder" in capsys.readouterr().err
    (in_tmp / "checkpoints" / "empty").mkdir(parents=True)
    assert main(["report", "--study", "empty"]) == 2
    assert "holds no step*.results.json" in capsys.readouterr().err


@pytest.mark.parametrize("other", [["heldout/p0"], PROBLEMS + ["extra"]])
def test_report_study_refuses_results_on_other_problems(in_tmp, capsys, other):
    arm = in_tmp / "checkpoints" / "mixed"
    _write(arm, "step000020.results.json", {0})
    (arm / "step000040.results.json").write_text(json.dumps({"problems": [{"task_id": t, "passed": False} for t in other]}))
    assert main(["report", "--study", "mixed"]) == 2
    assert "not all on the same problems" in capsys.readouterr().err

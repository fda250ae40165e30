"""Teacher data by rejection sampling and the study's two training sets: only verified programs are kept, with
their provenance; a stopped run goes on where it stopped; DEEP and DIVERSE get the same solution tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.data import teacher as teacher_module
from lightning_lora.data.study_sets import build_study_sets, normalized
from lightning_lora.data.teacher import SamplingSettings, problems_path, sample_teacher_data
from lightning_lora.problems.bank import families
from lightning_lora.problems.bank.core import draw_problem


def test_normalizing_ignores_names_comments_docstrings_and_layout_but_not_structure():
    a = "n = int(input())\n# the sum\nprint(n * (n + 1) // 2)\n"
    b = "count = int( input() )\nprint(count*(count+1)//2)  # closed form\n"
    c = "n = int(input())\nprint(sum(range(1, n + 1)))\n"
    assert normalized(a) == normalized(b)
    assert normalized(a) != normalized(c)
    f1 = 'def solve(x):\n    """Doc."""\n    return x + 1\nprint(solve(int(input())))\n'
    f2 = "def go(value):\n    return value + 1\nprint(go(int(input())))\n"
    assert normalized(f1) == normalized(f2)
    assert normalized("print(len(input()))") != normalized("print(len(input().strip()))")
    assert normalized("if x:\n  print(1") == "if x:\nprint(1"  # no parse: stripped lines


def _rows(problem: str, codes: list[str]) -> list[dict]:
    return [{"problem_id": problem, "family": problem.split("-")[0], "solution": code, "sample_index": i}
            for i, code in enumerate(codes)]


def test_deep_keeps_the_modal_form_diverse_the_distinct_ones_and_the_token_counts_match():
    loop = "s = 0\nfor i in range(int(input()) + 1):\n    s += i\nprint(s)\n"
    closed = "n = int(input())\nprint(n * (n + 1) // 2)\n"
    builtin = "print(sum(range(int(input()) + 1)))\n"
    rows = []
    for p in range(40):
        renamed = "m = int(input())\nprint(m * (m + 1) // 2)  # Gauss\n"
        rows += _rows(f"fam{p % 8}-{p}", [loop, builtin, closed, renamed, renamed.replace("m", "k")])
    sets = build_study_sets(rows, lambda text: len(text.split()), k=3, seed=1)
    deep_train = [r for r in sets.deep if r["split"] == "train"]
    diverse_train = [r for r in sets.diverse if r["split"] == "train"]
    assert all(r["solution"] == closed for r in deep_train)  # the form written most: 3 times, 2 renamed
    per_problem = {}
    for r in diverse_train:
        per_problem.setdefault(r["problem_id"], set()).add(r["structure"])
    assert all(len(forms) == 3 for forms in per_problem.values())  # closed form, loop, builtin: 3 distinct
    assert len({r["problem_id"] for r in deep_train}) > len(per_problem)  # DEEP: more problems
    s = sets.summary
    assert s["within_tolerance"] and abs(s["deep"]["tokens"] - s["diverse"]["tokens"]) <= 0.05 * s["budget_tokens"]
    assert sum(len(r["solution"].split()) for r in deep_train) == s["deep"]["tokens"]
    valid = {r["problem_id"] for r in sets.deep if r["split"] == "valid"}
    assert valid == {r["problem_id"] for r in sets.diverse if r["split"] == "valid"} and len(valid) == 4
    assert not valid & {r["problem_id"] for r in deep_train + diverse_train}


def test_study_sets_needs_rows_and_k_of_two():
    with pytest.raises(ValueError, match="no verified teacher rows"):
        build_study_sets([], len)
    with pytest.raises(ValueError, match="--k must be at least 2"):
        build_study_sets(_rows("a-0", ["print(1)"]), len, k=1)


@pytest.fixture
def scripted_teacher(monkeypatch):
    """The teacher's answers scripted per sample: the reference, a mutant, then prose with no code."""
    calls = []

    def fake_generate(model, tokenizer, problems, *, n, seed, **kwargs):
        calls.append([p.task_id for p in problems])
        out = []
        for p in problems:
            family = families()[p.metadata["family"]]
            params = p.metadata["params"]
            replies = [family.program(family.reference, params), family.program(family.mutants[0], params),
                       "I cannot solve this."]
            out += [{"task_id": p.task_id, "sample_index": j, "completion": f"```python\n{replies[j % 3]}```",
                     "finish_reason": "stop", "truncated": False} for j in range(n)]
        return out

    monkeypatch.setattr(teacher_module, "generate_samples", fake_generate)
    monkeypatch.setattr(teacher_module, "_prompt_builder", lambda *a: ((lambda prompt: prompt), ""))
    return calls


def test_only_answers_passing_every_test_are_kept_with_provenance_and_a_rerun_resumes(scripted_teacher, tmp_path):
    bank = families()
    problems = [draw_problem(bank["count_char"], i) for i in range(3)] + [draw_problem(bank["add_minutes"], 0)]
    out = tmp_path / "teacher.jsonl"
    settings = SamplingSettings(n=3, problems_per_chunk=2, timeout_s=5)
    summary = sample_teacher_data(None, None, problems, out, teacher="scripted", settings=settings, progress=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary["kept"] == len(rows) == 4 and summary["problems_solved"] == 4
    assert {r["problem_id"] for r in rows} == {p.task_id for p in problems}
    assert all(r["sample_index"] == 0 and r["teacher"] == "scripted" and r["verdict"].startswith("passed") for r in rows)
    assert rows[0]["sampling"]["temperature"] == 0.8 and isinstance(rows[0]["sampling"]["seed"], int)
    assert rows[0]["solution"].startswith("s = input()") and rows[0]["input"] == problems[0].prompt
    records = [json.loads(line) for line in problems_path(out).read_text().splitlines()]
    assert [r["passed"] for r in records] == [1, 1, 1, 1]
    assert records[0]["statuses"]["passed"] == 1 and sum(records[0]["statuses"].values()) == 3

    # a kill after the first chunk's rows but before its record: the chunk is redone, its rows not doubled
    problems_path(out).write_text("".join(json.dumps(r) + "\n" for r in records[:1]) + '{"problem_id": "cut')
    scripted_teacher.clear()
    again = sample_teacher_data(None, None, problems, out, teacher="scripted", settings=settings, progress=False)
    assert again["skipped_already_done"] == 1 and scripted_teacher == [[p.task_id for p in problems[1:3]],
                                                                        [problems[3].task_id]]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["problem_id"] for r in rows) == sorted(p.task_id for p in problems)


def test_teach_runs_on_a_tiny_model_and_records_every_problem(tiny_qwen2, in_tmp, monkeypatch, capsys):
    from lightning_lora.problems.bank import split

    monkeypatch.setattr(split, "HELDOUT", ("add_minutes",))
    monkeypatch.setattr("lightning_lora.commands.teach.HELDOUT", ("add_minutes",))
    out = in_tmp / "t.jsonl"
    assert main(["teach", "--model", str(tiny_qwen2), "--dtype", "float32", "--output", str(out), "--families",
                 '["count_char"]', "--problems_per_family", "2", "--n", "2", "--max_new_tokens", "8"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["problems"] == 2 and summary["samples"] == 4
    assert len(problems_path(Path(out)).read_text().splitlines()) == 2


@pytest.mark.parametrize("args, message", [
    (["--temperature", "0"], "--temperature must be above 0"),
    (["--families", '["no_such_family"]'], "unknown families"),
    (["--problems_per_family", "0"], "--problems_per_family must be at least 1"),
])
def test_teach_bad_options_are_one_line(args, message, in_tmp, capsys):
    assert main(["teach", "--model", "tiny:qwen2", "--output", "t.jsonl", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1

"""The problem bank: every family is sound (its reference passes, its mutants fail), problems are reproducible,
and the held-out benchmark shares no family with training."""

from __future__ import annotations

import pytest

from lightning_lora.benchmark.bank_check import family_problems, run_program
from lightning_lora.problems.bank import families
from lightning_lora.problems.bank.core import draw_problem

FAMILIES = families()


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_reference_passes_and_every_mutant_fails(name):
    assert family_problems(FAMILIES[name]) == []


def test_problems_are_the_same_on_every_draw_and_differ_between_indices():
    family = FAMILIES["count_char"]
    assert draw_problem(family, 3) == draw_problem(family, 3)
    assert draw_problem(family, 3).tests != draw_problem(family, 4).tests


def test_a_crashing_or_silent_program_is_a_failed_run_not_an_error():
    assert run_program("print(int(input()) + 1)\n", "41\n") == "42\n"
    assert run_program("raise ValueError('no')\n", "") == "<ValueError: no>"
    assert run_program("import sys\nsys.exit(0)\n", "") == ""


def test_the_heldout_benchmark_is_41_problems_of_families_no_training_problem_comes_from():
    from collections import Counter

    from lightning_lora.problems.bank.split import HELDOUT, training_problems
    from lightning_lora.problems.sources import load_problems

    bench = load_problems("atcoder-style-easy")
    assert len(bench) == 41 == len(set(HELDOUT)) and set(HELDOUT) <= set(FAMILIES)
    assert {p.metadata["family"] for p in bench} == set(HELDOUT)
    assert all(p.task_id.startswith("heldout/") and len(p.tests) >= 12 for p in bench)
    train = training_problems(FAMILIES, 2)
    assert not {p.metadata["family"] for p in train} & set(HELDOUT)
    assert len(train) == 2 * (len(FAMILIES) - 41)
    topics = Counter(f.topic for f in FAMILIES.values())
    held = Counter(FAMILIES[n].topic for n in HELDOUT)
    for topic, total in topics.items():  # every topic with two families or more is on both sides
        assert total < 2 or 0 < held[topic] < total, topic
    assert [p.tests for p in load_problems("atcoder-style-easy")] == [p.tests for p in bench]  # reproducible


def test_the_check_catches_a_wrong_reference_a_mutant_that_passes_and_a_bad_phrasing():
    import dataclasses

    family = FAMILIES["count_char"]
    broken = dataclasses.replace(family, reference="print(0)\n", mutants=(family.reference,),
                                 statements=(*family.statements[:2], "Count $letter.\n\nInput\n\nS\n\nOutput\n\nN"))
    faults = "\n".join(family_problems(broken, problems=1))
    assert "reference prints" in faults and "mutant 0 passes every hidden test" in faults
    assert "phrasing 2: template placeholder $letter has no parameter" in faults
    looping = dataclasses.replace(family, mutants=("while True:\n    pass\n",))
    assert run_program(looping.mutants[0], "", timeout_s=1) == "<timeout>"

"""Metrics equal hand-computed values on small fixed predictions."""

from __future__ import annotations

import pytest
import torch

from lightning_lora.evaluation.metrics import (
    classification_metrics,
    normalize_answer,
    squad_v2_scores,
    text_overlap_scores,
    token_f1,
)


def test_classification_metrics_macro_vs_weighted_by_hand():
    # 3 classes, true support 4 / 2 / 2. Confusion (rows true, cols predicted):
    #   class 0: 3 right, 1 predicted as 1;  class 1: 1 right, 1 as 2;  class 2: 2 right.
    target = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    preds = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    m = {k: float(v) for k, v in classification_metrics(3)(preds, target).items()}
    # precision: c0 3/3, c1 1/2, c2 2/3; recall: c0 3/4, c1 1/2, c2 2/2
    p, r = [1.0, 0.5, 2 / 3], [0.75, 0.5, 1.0]
    f1 = [2 * a * b / (a + b) for a, b in zip(p, r)]
    support = [4, 2, 2]
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["precision_macro"] == pytest.approx(sum(p) / 3)
    assert m["recall_macro"] == pytest.approx(sum(r) / 3)
    assert m["f1_macro"] == pytest.approx(sum(f1) / 3)
    assert m["precision_weighted"] == pytest.approx(sum(x * s for x, s in zip(p, support)) / 8)
    assert m["recall_weighted"] == pytest.approx(6 / 8)
    assert m["f1_weighted"] == pytest.approx(sum(x * s for x, s in zip(f1, support)) / 8)
    assert m["f1_weighted"] != pytest.approx(m["f1_macro"])


def test_squad_normalisation_and_token_f1_by_hand():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an apple, a pear") == "apple pear"
    # pred tokens {paris, france}, gold {paris}: precision 1/2, recall 1 -> F1 2/3
    assert token_f1("Paris, France", "paris") == pytest.approx(2 / 3)
    assert token_f1("", "") == 1.0 and token_f1("", "paris") == 0.0 and token_f1("paris", "") == 0.0


def test_squad_v2_scores_with_unanswerable_questions_by_hand():
    predictions = ["Paris", "the Thames", "", "Berlin", "London bridge"]
    golds = [["Paris", "paris city"], ["River Thames", "Thames"], [], [], ["Tower Bridge"]]
    s = squad_v2_scores(predictions, golds)
    # EM: 1, 1 (normalised "thames"), 1 (empty vs unanswerable), 0, 0  -> 3/5
    # F1: 1, 1, 1, 0, "london bridge" vs "tower bridge" = 1/2 -> 3.5/5
    assert s["exact"] == pytest.approx(60.0) and s["f1"] == pytest.approx(70.0) and s["total"] == 5
    assert s["HasAns"] == {"exact": pytest.approx(200 / 3), "f1": pytest.approx(250 / 3), "total": 3}
    assert s["NoAns"] == {"exact": pytest.approx(50.0), "f1": pytest.approx(50.0), "total": 2}
    with pytest.raises(ValueError):
        squad_v2_scores(["a"], [])


def test_squad_v2_question_whose_answers_normalise_to_nothing_is_has_ans():
    # The official script: has_ans = bool(answers); answers that normalise to "" are scored as "".
    s = squad_v2_scores(["", "the", "Paris"], [["the", "."], ["An"], []])
    assert s["HasAns"] == {"exact": pytest.approx(100.0), "f1": pytest.approx(100.0), "total": 2}
    assert s["NoAns"] == {"exact": pytest.approx(0.0), "f1": pytest.approx(0.0), "total": 1}
    assert s["exact"] == pytest.approx(200 / 3) and s["total"] == 3


def test_text_overlap_scores_are_perfect_on_identical_text():
    perfect = text_overlap_scores(["the river thames"], [["the river thames"]])
    assert perfect["bleu1"] == pytest.approx(1.0) and perfect["rougeL_f1"] == pytest.approx(1.0)
    assert perfect["bleu4"] == 0.0  # three words hold no 4-gram: why BLEU-1 is reported too
    long = text_overlap_scores(["the river thames flows east"], [["the river thames flows east"]])
    assert long["bleu4"] == pytest.approx(1.0)
    worse = text_overlap_scores(["the river"], [["the river thames"]])
    assert worse["rougeL_f1"] == pytest.approx(0.8)  # P 1, R 2/3
    assert worse["bleu1"] == pytest.approx(torch.exp(torch.tensor(1 - 3 / 2)).item())  # precision 1, brevity penalty
    # METEOR: tests/test_real_models.py (with the fetched WordNet, and without it)

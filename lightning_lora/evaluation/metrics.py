"""Task metrics: torchmetrics collections for classification, SQuAD v2 scoring and text overlap for QA.

SQuAD v2 exact match and F1 follow the official evaluation script: answers are normalised (lower
case, punctuation and the articles a/an/the removed, whitespace collapsed), the best score over the
gold answers counts, and a question with no gold answer is answered correctly only by an empty
prediction.
"""

from __future__ import annotations

import collections
import importlib.util
import re
import string
import warnings
from typing import Any, Sequence

from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from lightning_lora.models.registry import wordnet_reader

METEOR_NO_NLTK = "not computed: METEOR needs the nltk package (pip install nltk, or pip install -e '.[real]')"
METEOR_NO_WORDNET = ("not computed: METEOR needs WordNet 3.0, which is not fetched here "
                     "(python -m lightning_lora models fetch wordnet)")


def classification_metrics(num_classes: int, sync_on_compute: bool = True) -> MetricCollection:
    """Accuracy, precision, recall and F1 (macro and weighted) over ``num_classes`` classes.

    ``sync_on_compute=False`` where every process sees all the data (evaluation): summing the
    processes' counts would count each example once per process.
    """
    kwargs = {"sync_on_compute": sync_on_compute}
    metrics: dict[str, Any] = {"accuracy": MulticlassAccuracy(num_classes, average="micro", **kwargs)}
    for average in ("macro", "weighted"):
        metrics[f"precision_{average}"] = MulticlassPrecision(num_classes, average=average, **kwargs)
        metrics[f"recall_{average}"] = MulticlassRecall(num_classes, average=average, **kwargs)
        metrics[f"f1_{average}"] = MulticlassF1Score(num_classes, average=average, **kwargs)
    return MetricCollection(metrics)


def confusion_matrix(num_classes: int, sync_on_compute: bool = True) -> MulticlassConfusionMatrix:
    """Counts, rows are true classes and columns predicted classes."""
    return MulticlassConfusionMatrix(num_classes, sync_on_compute=sync_on_compute)


# -- SQuAD v2 -------------------------------------------------------------------------------------
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and articles, collapse whitespace (the official SQuAD normalisation)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1; two empty answers agree (1.0), an empty and a non-empty one do not (0.0)."""
    pred_tokens, gold_tokens = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred_tokens), overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_v2_scores(predictions: Sequence[str], golds: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Exact match and F1 in percent, overall and split into HasAns / NoAns, as the official script reports.

    Args:
        predictions: one answer per question; ``""`` means "unanswerable".
        golds: the gold answers per question; an empty list means the question is unanswerable.

    As in the official script, a question with any gold answer is HasAns, even when every answer
    normalises to nothing (e.g. "the"); it is then scored against ``""``.
    """
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predictions for {len(golds)} questions.")
    per_question = []
    for prediction, answers in zip(predictions, golds):
        scored = [a for a in answers if normalize_answer(a)] or [""]
        per_question.append((max(exact_match(prediction, a) for a in scored),
                             max(token_f1(prediction, a) for a in scored), len(answers) > 0))

    def summary(rows: list[tuple[float, float, bool]]) -> dict[str, float | int | None]:
        if not rows:
            return {"exact": None, "f1": None, "total": 0}
        return {"exact": 100.0 * sum(r[0] for r in rows) / len(rows), "f1": 100.0 * sum(r[1] for r in rows) / len(rows),
                "total": len(rows)}

    result = summary(per_question)
    result["HasAns"] = summary([r for r in per_question if r[2]])
    result["NoAns"] = summary([r for r in per_question if not r[2]])
    return result


def text_overlap_scores(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Corpus BLEU-1 and BLEU-4 (add-one smoothed) and ROUGE-L F1 from torchmetrics; METEOR where possible.

    BLEU-4 counts 4-grams over the whole corpus, so a corpus of answers shorter than four words
    scores 0 however right they are; BLEU-1 is reported beside it for short answers. Empty
    references (unanswerable questions) are compared as the empty string.
    """
    from torchmetrics.text import BLEUScore, ROUGEScore

    refs = [list(r) if r else [""] for r in references]
    preds = list(predictions)
    rouge = ROUGEScore(rouge_keys=("rougeL",))(preds, refs)
    scores: dict[str, Any] = {"bleu1": float(BLEUScore(n_gram=1)(preds, refs)),
                              "bleu4": float(BLEUScore(n_gram=4, smooth=True)(preds, refs)),
                              "rougeL_f1": float(rouge["rougeL_fmeasure"])}
    scores["meteor"], scores["meteor_note"] = _meteor(preds, refs)
    return scores


def _meteor(predictions: list[str], references: list[list[str]]) -> tuple[float | None, str]:
    """NLTK's METEOR (exact, Porter-stem and WordNet-synonym matches) per question, averaged; or why it is not computed."""
    wordnet, reason = _wordnet()
    if wordnet is None:
        return None, reason
    from nltk.translate.meteor_score import meteor_score

    values = [meteor_score([r.split() for r in refs], p.split(), wordnet=wordnet) for p, refs in zip(predictions, references)]
    return sum(values) / len(values), "nltk meteor_score with WordNet 3.0 (models fetch wordnet), mean over questions"


def _wordnet() -> tuple[Any, str]:
    """The fetched WordNet as an NLTK reader (loaded once), or None and the reason."""
    global _WORDNET
    if _WORDNET is None:
        if importlib.util.find_spec("nltk") is None:
            return None, METEOR_NO_NLTK
        with warnings.catch_warnings():  # "multilingual functions are not available": English is all METEOR uses
            warnings.simplefilter("ignore", UserWarning)
            _WORDNET = wordnet_reader()
        if _WORDNET is None:
            return None, METEOR_NO_WORDNET
    return _WORDNET, ""


_WORDNET: Any = None

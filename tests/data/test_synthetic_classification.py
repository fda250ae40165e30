"""The generated headline sets: the easy one of the quickstart and the hard one of the real-model configs."""

from __future__ import annotations

from lightning_lora.problems.synthetic import HELDOUT_TOPICS, TOPICS, classification_rows, hard_classification_rows


def _has(text: str, words: tuple[str, ...]) -> bool:
    return any(f" {w} " in f" {text.lower().rstrip('.')} " for w in words)


def test_hard_headlines_hold_their_topic_words_out_of_training_and_add_a_distractor() -> None:
    rows = hard_classification_rows()
    train = [r for r in rows if r["split"] == "train"]
    evaluation = [r for r in rows if r["split"] != "train"]
    heldout = tuple(w for words in HELDOUT_TOPICS.values() for w in words)
    assert not any(_has(r["text"], heldout) for r in train)
    names = list(TOPICS)
    # every evaluation headline carries held-out words of its own topic and a training word of another topic
    for r in evaluation:
        assert _has(r["text"], HELDOUT_TOPICS[names[r["label"]]])
        assert any(_has(r["text"], TOPICS[n]) for n in names if n != names[r["label"]])
    # about 10 % of the training labels disagree with the headline's own topic words
    wrong = sum(not _has(r["text"], TOPICS[names[r["label"]]]) or
                sum(_has(r["text"], (w,)) for w in TOPICS[names[r["label"]]]) < 2 for r in train)
    assert 0.05 < wrong / len(train) < 0.15
    assert sum(len(r["text"].split()) for r in train) / len(train) > 2 * sum(
        len(r["text"].split()) for r in classification_rows() if r["split"] == "train") / len(train)

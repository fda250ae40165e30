"""Generated, learnable code data for the offline quickstart and the tests.

Each task reads two integers from one line of stdin and prints one number (their sum, difference,
product, maximum, minimum or absolute difference). Problem statements are phrased several ways;
the benchmark problems use phrasings that never occur in training and fresh numbers, so a rising
pass@1 shows the model learned the mapping, not the strings. This is a synthetic demonstration,
not a real coding task.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lightning_lora.files import atomic_write_jsonl


@dataclass(frozen=True)
class Operation:
    """One synthetic task: how it is named in prose, how it is coded, how it is computed."""

    key: str
    names: tuple[str, ...]
    expression: str
    compute: Callable[[int, int], int]


OPERATIONS: tuple[Operation, ...] = (
    Operation("sum", ("sum", "total"), "a + b", lambda a, b: a + b),
    Operation("difference", ("difference a minus b", "value of a minus b"), "a - b", lambda a, b: a - b),
    Operation("product", ("product", "product a times b"), "a * b", lambda a, b: a * b),
    Operation("maximum", ("maximum", "larger one"), "max(a, b)", lambda a, b: max(a, b)),
    Operation("minimum", ("minimum", "smaller one"), "min(a, b)", lambda a, b: min(a, b)),
    Operation("absdiff", ("absolute difference", "distance between them"), "abs(a - b)", lambda a, b: abs(a - b)),
)

TRAIN_PHRASINGS: tuple[str, ...] = (
    "Read two integers a and b from one line and print their {name}.",
    "Given two integers on a single line, output their {name}.",
    "Input: two integers separated by a space. Output: their {name}.",
    "Write a program that reads a and b and prints the {name}.",
    "You get two numbers a and b. Print the {name}.",
    "Two integers are given on standard input. Print their {name}.",
    "Print the {name} of two integers a and b given on one line.",
    "Output the {name} of the two numbers on the input line.",
    "The {name} of a and b is wanted: read them from one line and print it.",
    "Find the {name} of two integers read from input.",
    "Your task: the {name} of a and b, which are read from standard input.",
    "Report the {name} for the two integers you read.",
)

#: Never used in training: the benchmark asks in words the model has not seen.
HELDOUT_PHRASINGS: tuple[str, ...] = (
    "Compute the {name} of two integers read from standard input and print it.",
    "Standard input holds a and b on one line; write their {name} to standard output.",
    "Show the {name} of the pair of integers given as input.",
)


def solution_code(op: Operation) -> str:
    """The reference program for an operation."""
    return f"a, b = map(int, input().split())\nprint({op.expression})\n"


def _sample(rng: random.Random, phrasings: tuple[str, ...]) -> tuple[Operation, str]:
    op = rng.choice(OPERATIONS)
    return op, rng.choice(phrasings).format(name=rng.choice(op.names))


def code_sft_rows(num_train: int = 480, num_valid: int = 48, num_test: int = 48, seed: int = 0) -> list[dict]:
    """Rows in the CodeGen-Deep/Diverse schema: ``input``, ``solution``, ``output``, ``split``."""
    rng = random.Random(seed)
    rows = []
    for split, count in (("train", num_train), ("valid", num_valid), ("test", num_test)):
        for _ in range(count):
            op, prompt = _sample(rng, TRAIN_PHRASINGS)
            code = solution_code(op)
            reasoning = f"Read a and b, then print {op.expression}."
            rows.append({"input": prompt, "solution": code, "output": f"{reasoning}\n```python\n{code}```", "split": split})
    return rows


#: Follow-up requests of the multi-turn chat data: the same program, another operation.
FOLLOW_UPS: tuple[str, ...] = (
    "Now print the {name} instead.",
    "Change it so it prints their {name}.",
    "Same input, but output the {name}.",
)
CHAT_SYSTEM_PROMPT = "You are a helpful coding assistant."


def chat_rows(num_train: int = 480, num_valid: int = 48, seed: int = 0, shape: str = "messages",
              max_turns: int = 3) -> list[dict]:
    """Multi-turn conversations about the synthetic tasks, in one of the chat data shapes.

    A conversation asks for one program, then (up to ``max_turns`` pairs in all) for the same
    program with another operation; each reply is the program in a fenced block, so the model must
    follow the latest request. Half the conversations open with a system turn. ``shape`` is
    ``messages``, ``sharegpt`` or ``alpaca`` (single-turn: the first exchange, no system turn).
    """
    rng = random.Random(seed)
    rows = []
    for split, count in (("train", num_train), ("valid", num_valid)):
        for _ in range(count):
            op, prompt = _sample(rng, TRAIN_PHRASINGS)
            messages = [{"role": "system", "content": CHAT_SYSTEM_PROMPT}] if rng.random() < 0.5 else []
            for turn in range(1 if shape == "alpaca" else rng.randint(1, max_turns)):
                if turn:
                    op = rng.choice([o for o in OPERATIONS if o is not op])
                    prompt = rng.choice(FOLLOW_UPS).format(name=rng.choice(op.names))
                messages += [{"role": "user", "content": prompt},
                             {"role": "assistant", "content": f"```python\n{solution_code(op)}```"}]
            rows.append({**as_shape(messages, shape), "split": split})
    return rows


def as_shape(messages: list[dict], shape: str) -> dict:
    """Chat messages as a row of ``shape``: ``messages``, ``sharegpt`` or ``alpaca`` (first exchange only)."""
    if shape == "messages":
        return {"messages": messages}
    if shape == "sharegpt":
        speaker = {"system": "system", "user": "human", "assistant": "gpt"}
        return {"conversations": [{"from": speaker[m["role"]], "value": m["content"]} for m in messages]}
    if shape == "alpaca":
        user, reply = [m["content"] for m in messages if m["role"] != "system"][:2]
        return {"instruction": user, "input": "", "output": reply}
    raise ValueError(f"unknown shape {shape!r}")


def benchmark_problems(num_problems: int = 24, tests_per_problem: int = 3, seed: int = 1) -> list[dict]:
    """Held-out stdin/stdout problems: ``task_id``, ``prompt``, ``tests`` [{input, output}]."""
    rng = random.Random(seed)
    problems = []
    for index in range(num_problems):
        op, prompt = _sample(rng, HELDOUT_PHRASINGS)
        tests = []
        for _ in range(tests_per_problem):
            a, b = rng.randint(-999, 999), rng.randint(-999, 999)
            tests.append({"input": f"{a} {b}\n", "output": f"{op.compute(a, b)}\n"})
        problems.append({"task_id": f"synthetic/{index}", "prompt": prompt, "tests": tests})
    return problems


def code_choice_rows(num_rows: int = 48, seed: int = 2) -> list[dict]:
    """Multiple choice over held-out phrasings: ``question``, ``choices`` (the program of every operation),
    ``label`` (the index of the one that answers). The lm-eval task ``synthetic_code_choice`` reads them."""
    rng = random.Random(seed)
    choices = [solution_code(op) for op in OPERATIONS]
    rows = []
    for _ in range(num_rows):
        op, prompt = _sample(rng, HELDOUT_PHRASINGS)
        rows.append({"question": prompt, "choices": choices, "label": OPERATIONS.index(op)})
    return rows


def write_jsonl(rows: list[dict], path: Path) -> Path:
    """Write rows as JSON lines (atomically: a reader never sees half a file)."""
    return atomic_write_jsonl(path, rows)


def tokenizer_corpus() -> list[str]:
    """Texts the tiny tokenizer is trained on: every phrasing, name and program of the synthetic tasks."""
    texts = [solution_code(op) for op in OPERATIONS]
    for phrasing in TRAIN_PHRASINGS + HELDOUT_PHRASINGS:
        texts += [phrasing.format(name=name) for op in OPERATIONS for name in op.names]
    texts += [f"Read a and b, then print {op.expression}." for op in OPERATIONS]
    texts.append("You are a helpful coding assistant. Write a Python program. ```python\n```")
    texts += [" ".join(words) for words in TOPICS.values()] + [" ".join(_FILLER)]
    texts += [" ".join(NAMES)] * 40 + [q + " " + s for _, q, s in _FACTS]
    texts += ['Answer from the context, or say "unanswerable". Context: is a small country. Question: unanswerable'] * 20
    return texts


# -- text classification: four topics, AG News style -----------------------------------------------
TOPICS: dict[str, tuple[str, ...]] = {
    "World": ("minister", "election", "embassy", "border", "treaty", "parliament", "refugees", "summit"),
    "Sports": ("match", "goal", "coach", "league", "tournament", "striker", "season", "medal"),
    "Business": ("shares", "profit", "merger", "market", "investors", "revenue", "bank", "quarter"),
    "Sci/Tech": ("software", "chip", "researchers", "satellite", "internet", "robot", "genome", "laptop"),
}
_FILLER = ("the", "a", "new", "report", "says", "on", "after", "today", "big", "week", "over", "with", "plans")


def classification_rows(num_train: int = 800, num_valid: int = 160, num_test: int = 160, seed: int = 0) -> list[dict]:
    """Short headlines with a ``text``, an integer ``label`` (index into :data:`TOPICS`) and a ``split``."""
    rng = random.Random(seed)
    names = list(TOPICS)
    rows = []
    for split, count in (("train", num_train), ("valid", num_valid), ("test", num_test)):
        for _ in range(count):
            label = rng.randrange(len(names))
            words = rng.sample(TOPICS[names[label]], 2) + rng.sample(_FILLER, 4)
            rng.shuffle(words)
            rows.append({"text": " ".join(words).capitalize() + ".", "label": label, "split": split})
    return rows


#: Topic words that never occur in the training split of the hard set: only a model that knows what
#: words mean (a pretrained one) can place a validation headline that uses them.
HELDOUT_TOPICS: dict[str, tuple[str, ...]] = {
    "World": ("diplomats", "ceasefire", "prime minister", "sanctions", "ambassador", "referendum"),
    "Sports": ("quarterback", "olympics", "rugby", "championship", "goalkeeper", "marathon"),
    "Business": ("stock", "earnings", "acquisition", "inflation", "shareholders", "dividend"),
    "Sci/Tech": ("smartphone", "algorithm", "telescope", "processor", "vaccine", "startup"),
}
_LONG_FILLER = _FILLER + ("officials", "said", "on tuesday", "according to", "sources", "amid", "questions",
                          "latest", "update", "in the morning", "people", "local", "while", "many")


def hard_classification_rows(num_train: int = 800, num_valid: int = 160, num_test: int = 160, seed: int = 0,
                             label_noise: float = 0.1) -> list[dict]:
    """Harder headlines (``synthetic:classification-hard``): longer, two words of the true topic and one of
    another topic (overlapping vocabulary), ``label_noise`` of the training labels wrong, and validation / test
    topic words held out of training (:data:`HELDOUT_TOPICS`), so memorising the training words is not enough."""
    rng = random.Random(seed)
    names = list(TOPICS)
    rows = []
    for split, count in (("train", num_train), ("valid", num_valid), ("test", num_test)):
        topic_words = TOPICS if split == "train" else HELDOUT_TOPICS
        for _ in range(count):
            label = rng.randrange(len(names))
            other = rng.choice([n for n in names if n != names[label]])
            words = (rng.sample(topic_words[names[label]], 2) + [rng.choice(TOPICS[other])]
                     + rng.sample(_LONG_FILLER, rng.randint(8, 14)))
            rng.shuffle(words)
            if split == "train" and rng.random() < label_noise:
                label = rng.choice([i for i in range(len(names)) if i != label])
            rows.append({"text": " ".join(words).capitalize() + ".", "label": label, "split": split})
    return rows


# -- extractive QA, SQuAD v2 schema, unanswerable questions included --------------------------------
_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "zu", "pel", "dor", "fi", "gan", "shu")
_FACTS = (("capital", "What is the capital of {place}?", "Its capital is {value}."),
          ("river", "Which river flows through {place}?", "The river {value} flows through it."),
          ("leader", "Who leads {place}?", "It is led by {value}."))


#: Made-up names; the tiny tokenizer learns each as one token, so answering is copying one token.
NAMES = tuple(sorted({(a + b).capitalize() for a in _SYLLABLES[:6] for b in _SYLLABLES[6:]}))


def _name(rng: random.Random) -> str:
    return rng.choice(NAMES)


def qa_rows(num_train: int = 600, num_valid: int = 60, num_test: int = 60, seed: int = 0,
            unanswerable_share: float = 0.3) -> list[dict]:
    """Rows in the SQuAD v2 schema: ``context``, ``question``, ``answers`` {text, answer_start}, ``split``."""
    rng = random.Random(seed)
    rows = []
    for split, count in (("train", num_train), ("valid", num_valid), ("test", num_test)):
        for i in range(count):
            place = _name(rng)
            stated = rng.sample(_FACTS, 2)
            values = {key: _name(rng) for key, _, _ in stated}
            context = f"{place} is a small country. " + " ".join(s.format(value=values[k]) for k, _, s in stated)
            if rng.random() < unanswerable_share:
                key, question, _ = next(f for f in _FACTS if f not in stated)
                answers = {"text": [], "answer_start": []}
            else:
                key, question, _ = rng.choice(stated)
                answers = {"text": [values[key]], "answer_start": [context.index(values[key])]}
            rows.append({"id": f"{split}-{i}", "context": context, "question": question.format(place=place),
                         "answers": answers, "split": split})
    return rows

"""The problem bank's building blocks: a family of easy stdin/stdout problems and the problems drawn from it.

A :class:`Family` is one skill (count a character, add minutes to a clock time, ...) written by this project, in
the style of an AtCoder ABC A/B problem. One problem of a family is its parameters (which character, which unit),
one of its statement phrasings, two public examples and hidden tests: random inputs plus the family's edge cases.
Expected outputs come from the family's ``answer`` (the judge's own computation); its ``reference`` program and
its ``mutants`` (plausible wrong programs) are checked against them by the tests.

Templates (statements, reference and mutant programs) use :class:`string.Template` placeholders, ``$name`` or
``${name}``, filled from the problem's parameters: Python code keeps its braces. ``$$`` is a literal ``$``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from string import Template
from typing import Any, Callable

from lightning_lora.problems.problem import Problem

Params = dict[str, Any]

#: Hidden tests per problem: at least this many, edge cases first, then random inputs.
MIN_HIDDEN_TESTS = 10
#: Random hidden tests beside the edge cases, however many edge cases a family has.
MIN_RANDOM_TESTS = 4
#: Public examples shown in a statement.
PUBLIC_EXAMPLES = 2


@dataclass(frozen=True)
class Family:
    """One skill, many problems.

    Args:
        name: unique snake_case id; task ids are ``<name>-<index>``.
        topic: a coarse group (``strings``, ``counting``, ``clock``, ``calendar``, ``geometry``, ``parity``,
            ``divisibility``, ``minmax``, ``sorting``, ``grid``, ``simulation``, ...), for reports.
        statements: at least three phrasings of the whole statement (task, input format, output format,
            constraints), each a template over the parameters.
        answer: ``answer(params, stdin_text) -> stdout_text``, the expected output of one input.
        make_input: ``make_input(rng, params) -> stdin_text``, one random valid input (ends with a newline).
        edge_inputs: ``edge_inputs(params) -> [stdin_text, ...]``: the inputs a wrong solution trips on
            (smallest and largest values, ties, empty results, ...), at least two.
        reference: a correct Python program (template) reading stdin and printing the answer.
        mutants: plausible wrong programs (templates); each must fail at least one hidden test of every
            problem of the family.
        params: ``params(rng) -> Params``, the parameters of one problem (default: none).
    """

    name: str
    topic: str
    statements: tuple[str, ...]
    answer: Callable[[Params, str], str]
    make_input: Callable[[random.Random, Params], str]
    edge_inputs: Callable[[Params], list[str]]
    reference: str
    mutants: tuple[str, ...]
    params: Callable[[random.Random], Params] = field(default=lambda rng: {})

    def statement(self, index: int, params: Params) -> str:
        """Phrasing ``index`` filled with ``params``."""
        return fill(self.statements[index % len(self.statements)], params)

    def program(self, template: str, params: Params) -> str:
        """A reference or mutant template filled with ``params``."""
        return fill(template, params)


def fill(template: str, params: Params) -> str:
    """``template`` with its ``$name`` placeholders replaced by ``params`` (one clear error for a missing one)."""
    try:
        return Template(template).substitute({k: str(v) for k, v in params.items()})
    except KeyError as e:
        raise ValueError(f"template placeholder ${e.args[0]} has no parameter (have {sorted(params)})") from None


def yes_no(flag: bool) -> str:
    """The judge's ``Yes``/``No`` line."""
    return "Yes\n" if flag else "No\n"


def ints(text: str) -> list[int]:
    """Every integer of an input, in order."""
    return [int(token) for token in text.split()]


def _rng(*parts: object) -> random.Random:
    """A generator seeded from ``parts`` alone (not Python's salted ``hash``): the same problems on every run."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _with_examples(statement: str, examples: list[dict[str, str]]) -> str:
    parts = [statement.rstrip()]
    for number, case in enumerate(examples, start=1):
        parts.append(f"Sample Input {number}\n\n{case['input'].rstrip()}\n\nSample Output {number}\n\n"
                     f"{case['output'].rstrip()}")
    return "\n\n".join(parts) + "\n"


def draw_problem(family: Family, index: int, *, seed: int = 0, phrasing: int | None = None,
                 hidden: int = MIN_HIDDEN_TESTS) -> Problem:
    """Problem ``index`` of ``family``: its parameters, phrasing, public examples and hidden tests all follow from
    (family, index, seed). Tests hold the public examples first, then the hidden ones: the edge cases, then random
    inputs up to ``hidden`` and at least :data:`MIN_RANDOM_TESTS`; repeated inputs are drawn again."""
    rng = _rng(family.name, index, seed)
    params = family.params(rng)
    drawn = rng.randrange(len(family.statements))  # drawn even when ``phrasing`` is given: the same tests either way
    chosen = drawn if phrasing is None else phrasing
    inputs: list[str] = []
    for text in family.edge_inputs(params):
        if text not in inputs:
            inputs.append(text)
    wanted = max(hidden, len(inputs) + MIN_RANDOM_TESTS)
    public: list[str] = []
    attempts = 0
    while len(public) < PUBLIC_EXAMPLES or len(inputs) < wanted:
        attempts += 1
        if attempts > 50 * (wanted + PUBLIC_EXAMPLES):
            raise ValueError(f"family {family.name}: make_input repeats itself; cannot draw {wanted} distinct tests")
        text = family.make_input(rng, params)
        if text in inputs or text in public:
            continue
        (public if len(public) < PUBLIC_EXAMPLES else inputs).append(text)
    cases = [{"input": text, "output": family.answer(params, text)} for text in public + inputs]
    statement = _with_examples(family.statement(chosen, params), cases[:PUBLIC_EXAMPLES])
    metadata = {"family": family.name, "topic": family.topic, "phrasing": chosen, "params": params,
                "index": index, "seed": seed, "public_tests": PUBLIC_EXAMPLES,
                "reference": family.program(family.reference, params)}
    return Problem(f"{family.name}-{index}", statement, "stdio", cases, metadata=metadata)

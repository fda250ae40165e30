"""A bank of easy stdin/stdout problems written by this project, AtCoder ABC A/B style, split by family.

Families live in the ``families_*`` modules; :data:`~lightning_lora.problems.bank.split.HELDOUT` names the
families whose problems are only ever benchmarked (never trained on). ``load_problems("atcoder-style-easy")``
gives the held-out benchmark: one problem of each held-out family.
:func:`~lightning_lora.problems.bank.split.training_problems` draws problems of the other families for training.
"""

from __future__ import annotations

import importlib
import pkgutil

from lightning_lora.problems.bank.core import Family
from lightning_lora.problems.bank.split import heldout_problems
from lightning_lora.problems.problem import ProblemSet

#: The benchmark's name for ``load_problems``.
BENCHMARK = "atcoder-style-easy"


def families() -> dict[str, Family]:
    """Every family of the bank by name (modules ``families_*``; a repeated name is an error)."""
    found: dict[str, Family] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("families_")):
        for family in importlib.import_module(f"{__name__}.{module}").FAMILIES:
            if family.name in found:
                raise ValueError(f"problem bank: family {family.name!r} is defined twice")
            found[family.name] = family
    return found


def benchmark_problems() -> ProblemSet:
    """The held-out benchmark (:data:`BENCHMARK`): one problem of each held-out family."""
    return heldout_problems(families())

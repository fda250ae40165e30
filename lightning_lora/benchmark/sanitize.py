"""Cut a model's Python reply down to the function under test and what it needs.

A reply taken out of its markdown fence often holds the right function followed by junk: test code, ``print``
calls, an ``if __name__ == "__main__":`` block, example usage, prose, or the function's docstring started again
and cut off at the token budget. :func:`sanitize` keeps the entry point with the imports, helper functions,
classes and constants it uses, and drops the rest, in the manner of EvalPlus's sanitizer (``evalplus/sanitize.py``,
0.3.1), written here with the standard library's :mod:`ast` instead of tree-sitter.
"""

from __future__ import annotations

import ast
import bisect
import codeop
import re
import symtable
from typing import NamedTuple

__all__ = ["sanitize"]

# With this flag the parser says "incomplete input" when a span fails only because it ends too soon (an open
# bracket or string, a block header with no body); any other error is one that no further lines can undo. The
# interactive console relies on the same distinction. Where the flag is missing every error counts as possibly
# incomplete: the search below is then slower but gives the same answer.
_INCOMPLETE_FLAG: int | None = getattr(codeop, "PyCF_ALLOW_INCOMPLETE_INPUT", None)

# A line as the parser counts them ("\r\n", "\r" or "\n" ends one), its end kept.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class _Definition(NamedTuple):
    names: tuple[str, ...]  # the module-level names it binds
    node: ast.stmt
    text: str  # its exact source text, decorators included


def sanitize(code: str, entry_point: str | None = None) -> str:
    """Return the part of ``code`` that defines ``entry_point``, with what it needs, as Python source.

    1. The text is cut to its longest run of consecutive lines that parses, counted in non-blank lines (the whole
       text when it parses); the earliest such run wins a tie. (The search is pruned, and gives up on a
       pathological reply after a fixed amount of parsing, keeping the best run found by then.)
    2. Of that run's top-level statements, all imports are kept, and definitions: functions (``async`` ones and
       decorators included), classes, and assignments to a name or a tuple of names (constants). Everything else
       (calls, ``print``, ``assert``, ``if __name__ == "__main__":``, loops, bare expressions) is dropped. A name
       defined more than once keeps one definition: the first function definition containing a ``return``
       (skipping a docstring-only stub the model repeated), else the first definition.
    3. With ``entry_point``, only the definitions reachable from it are kept: those bound to a module-level name
       that a kept definition uses (read from its symbol table), transitively.
    4. The result is the imports, then the kept definitions in source order, each its exact source text (a
       definition's with the comments that close it, as tree-sitter has them), joined by newlines. If nothing is
       kept, the run from step 1 is returned; if no line parses at all, ``code`` unchanged, so a reply that is not
       Python still fails as one.

    Where this differs from EvalPlus 0.3.1: a function without ``return`` (a generator, one that sorts its argument
    in place) is kept when it is the only definition of its name, where EvalPlus drops it; decorated definitions
    are kept, EvalPlus drops them; reachability follows module-level names only, where EvalPlus follows every
    identifier, parameters and attribute names included, so ``n = int(input())`` beside ``def fib(n)`` stays
    there; a function with ``return`` wins its name over an earlier assignment or class; ``LOW, HIGH = 0, 9`` is a
    constant, and an assignment to an attribute or item never is (EvalPlus keeps the first such without an entry
    point); a single line is a run, and when no line parses ``code`` comes back whole rather than cut to its first
    line.
    """
    span = _longest_parsing_span(code)
    if span is None:
        return code
    lines = _LINE.findall(span)
    imports: list[str] = []
    definitions: list[_Definition] = []
    for node in ast.parse(span).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(_source_text(lines, node))
        elif names := _defined_names(node):
            definitions.append(_Definition(names, node, _source_text(lines, node)))
    kept = _one_definition_per_name(definitions)
    if entry_point:
        kept = _reachable(kept, entry_point)
    chosen = imports + [definition.text for definition in kept]
    return "\n".join(chosen) if chosen else span


def _longest_parsing_span(code: str) -> str | None:
    """The longest run of whole lines that parses (most non-blank lines, earliest first), or None if none does."""
    if code.strip() and _parse_state(code).parses is True:
        return code
    search = _RunSearch(code.split("\n"))
    best: tuple[int, int] | None = None
    best_count = 0
    nonblank = search.nonblank
    try:
        for a in range(len(nonblank)):
            if len(nonblank) - a <= best_count:
                break  # every run starting here or later is too short to win
            b = search.longest_from(a, a + best_count)
            if b is not None:
                best, best_count = (nonblank[a], nonblank[b]), b - a + 1
    except _BudgetSpent:
        pass  # a pathological reply: keep the best run found so far
    if best is None:
        return None
    return "\n".join(search.lines[best[0]:best[1] + 1])


class _BudgetSpent(Exception):
    pass


class _RunSearch:
    """Runs of whole lines that start and end on a non-blank line, and whether they parse.

    Blank lines at a run's edges change neither whether it parses nor its count, so runs are named by positions
    in ``nonblank``: run (a, b) covers lines ``nonblank[a]`` to ``nonblank[b]`` and counts b - a + 1 lines.
    """

    # How many characters the parser may read in all (up to its error, for a definite one) before the search gives
    # up and keeps the best run found so far: at least 60 times the reply's length, while real replies with junk
    # after the function take 20 times at most, and 1 MB for a short one; under a second for a 600-line pathological
    # reply (hundreds of lines of decorators or open brackets, nothing else).
    BUDGET_PER_CHARACTER = 60
    BUDGET_AT_LEAST = 1_000_000

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.nonblank = [i for i, line in enumerate(lines) if line.strip()]
        self.budget = max(self.BUDGET_AT_LEAST, self.BUDGET_PER_CHARACTER * sum(len(line) + 1 for line in lines))

    def state(self, a: int, b: int) -> _Parse:
        if self.budget < 0:
            raise _BudgetSpent
        first, last = self.nonblank[a], self.nonblank[b]
        parse = _parse_state("\n".join(self.lines[first:last + 1]))
        if parse.parses is False and parse.error_line is not None:
            last = min(last, first + parse.error_line - 1)
        self.budget -= sum(len(line) + 1 for line in self.lines[first:last + 1])
        return parse

    def longest_from(self, a: int, shortest: int) -> int | None:
        """The largest b >= ``shortest`` for which run (a, b) parses, or None."""
        states: dict[int, _Parse] = {}

        def state(b: int) -> _Parse:
            if b not in states:
                states[b] = self.state(a, b)
            return states[b]

        if state(shortest).parses is False:
            return None  # an error no further line can undo
        # The runs from `a` fail for good from some end on (a definite error stays when lines are added): find that
        # end by bisection, then walk back from it to the longest run that parses.
        low, high = shortest, len(self.nonblank)  # state(low) is not False; state(high) is, or high is past the end
        while high - low > 1:
            middle = (low + high) // 2
            if state(middle).parses is False:
                high = middle
            else:
                low = middle
        b = low
        while b >= shortest:
            parses, stuck_at, _ = state(b)
            if parses is True:
                return b
            if stuck_at is None:
                b -= 1
            else:  # every run from `a` ending on or after line `stuck_at` (from 1) is cut short the same way
                b = bisect.bisect_left(self.nonblank, self.nonblank[a] + stuck_at - 1) - 1
        return None


class _Parse(NamedTuple):
    parses: bool | None  # True; False if no added lines can make it parse; None if it may only be cut short
    stuck_at: int | None  # cut short inside a bracket or triple-quoted string: the line (from 1) where that opens,
    # so that any shorter source still reaching that line fails too
    error_line: int | None  # where the parser reported its error


def _parse_state(source: str) -> _Parse:
    """Whether ``source`` parses, and if not, whether more lines could make it parse."""
    try:
        ast.parse(source)
        return _Parse(True, None, None)
    except (SyntaxError, ValueError) as error:
        message = str(getattr(error, "msg", ""))
        lineno = getattr(error, "lineno", None)
    except (MemoryError, RecursionError):
        return _Parse(None, None, None)  # too deep for the parser: say nothing about other runs
    cut_short = message.endswith("was never closed") or message.startswith("unterminated triple-quoted")
    # (The parser counts a lone carriage return as a line break, split("\n") does not: then say nothing.)
    stuck_at = lineno if cut_short and "\r" not in source.replace("\r\n", "") else None
    if _INCOMPLETE_FLAG is None:
        return _Parse(None, stuck_at, lineno)
    try:
        compile(source, "<reply>", "exec", ast.PyCF_ONLY_AST | _INCOMPLETE_FLAG)
    except SyntaxError as error:
        return _Parse(None if error.msg == "incomplete input" else False, stuck_at, lineno)
    except (ValueError, MemoryError, RecursionError):
        pass
    return _Parse(None, stuck_at, lineno)


def _defined_names(node: ast.stmt) -> tuple[str, ...]:
    """The names a top-level definition binds: a function or class name, or the names an assignment sets."""
    if isinstance(node, _DEFINITIONS):
        return (node.name,)
    if isinstance(node, ast.AnnAssign):
        return (node.target.id,) if isinstance(node.target, ast.Name) else ()
    if isinstance(node, ast.Assign):
        names: list[str] = []
        for target in node.targets:
            elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
            if not all(isinstance(element, ast.Name) for element in elements):
                return ()  # an attribute, subscript or starred target: a statement, not a constant
            names.extend(element.id for element in elements)
        return tuple(dict.fromkeys(names))
    return ()


def _one_definition_per_name(definitions: list[_Definition]) -> list[_Definition]:
    """Keep, for each name, the first function definition with a ``return``, else the name's first definition."""
    chosen: dict[str, _Definition] = {}
    for definition in definitions:
        for name in definition.names:
            chosen.setdefault(name, definition)
    for definition in definitions:
        if _returns(definition.node):
            name = definition.names[0]
            if not _returns(chosen[name].node):
                chosen[name] = definition
    kept = {id(definition) for definition in chosen.values()}
    return [definition for definition in definitions if id(definition) in kept]


def _returns(node: ast.stmt) -> bool:
    """Whether ``node`` is a function definition with a ``return`` statement somewhere in it."""
    return isinstance(node, _FUNCTIONS) and any(isinstance(child, ast.Return) for child in ast.walk(node))


def _reachable(definitions: list[_Definition], entry_point: str) -> list[_Definition]:
    """The definitions reachable from ``entry_point`` through the global names each one uses, in source order."""
    by_name = {name: index for index, definition in enumerate(definitions) for name in definition.names}
    seen = {entry_point}
    queue = [entry_point]
    kept: set[int] = set()
    while queue:
        index = by_name.get(queue.pop())
        if index is None or index in kept:
            continue
        kept.add(index)
        for name in _global_names(definitions[index]) - seen:
            seen.add(name)
            queue.append(name)
    return [definition for index, definition in enumerate(definitions) if index in kept]


def _global_names(definition: _Definition) -> set[str]:
    """The module-level names a definition uses when it runs or is called.

    Names bound inside a function (parameters, local variables) are not module-level names there, so an example
    line such as ``n = int(input())`` is not pulled in by ``def fib(n)``. Should the symbol table refuse the text
    (it checks a few things ``ast.parse`` does not), every name and attribute name in it counts instead.
    """
    try:
        table = symtable.symtable(definition.text, "<definition>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {child.id for child in ast.walk(definition.node) if isinstance(child, ast.Name)} | {
            child.attr for child in ast.walk(definition.node) if isinstance(child, ast.Attribute)}
    # The statement itself runs at module level (decorators, defaults, annotations, base classes, an assignment's
    # value); the scopes nested in it reach module-level names only through the names they leave global.
    names = {symbol.get_name() for symbol in table.get_symbols() if symbol.is_referenced()}
    scopes = list(table.get_children())
    while scopes:
        scope = scopes.pop()
        names.update(symbol.get_name() for symbol in scope.get_symbols() if symbol.is_global())
        scopes.extend(scope.get_children())
    return names


def _source_text(lines: list[str], node: ast.stmt) -> str:
    """The exact text of a top-level statement, from its first decorator (if any) to its last token or comment.

    ``lines`` are the source's lines split as the parser counts them, ends kept; columns are UTF-8 byte offsets.
    """
    decorators = getattr(node, "decorator_list", [])
    # A decorator's "@" opens its line (a decorated definition cannot follow a ";"); other statements may.
    first, start = (decorators[0].lineno, 0) if decorators else (node.lineno, node.col_offset)
    last, end = node.end_lineno, node.end_col_offset
    if isinstance(node, _DEFINITIONS):
        # A definition's comments go with it, as in tree-sitter: one closing its last line, and the comment lines
        # after it (blank lines between) indented at least as deep as its body.
        last_line = lines[last - 1].encode()
        if last_line[end:].strip().startswith(b"#"):
            end = len(last_line.rstrip(b"\r\n"))
        body_indent = node.body[0].col_offset
        following = last
        while following < len(lines):
            text = lines[following]
            if text.strip() and not (text.lstrip().startswith("#")
                                     and len(text.encode()) - len(text.lstrip().encode()) >= body_indent):
                break
            following += 1
            if text.strip():
                last, end = following, len(text.rstrip("\r\n").encode())
    last_line = lines[last - 1].encode()
    if first == last:
        return last_line[start:end].decode()
    head = lines[first - 1].encode()[start:].decode()
    return head + "".join(lines[first:last - 1]) + last_line[:end].decode()

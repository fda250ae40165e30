"""The one exception family for mistakes a user can make (config, data, model, checkpoint), and how they read.

``python -m lightning_lora`` prints these as a single sentence and exits with status 2; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import re
from typing import Any


class UserError(ValueError):
    """A problem with the user's input; the message names the file, field or option."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its class name when the message is empty)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def user_error_in_chain(err: BaseException) -> UserError | None:
    """The UserError that caused ``err``, if any; jsonargparse re-raises instantiation errors wrapped."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, UserError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


_SPECIFIC = re.compile(r"not expected|not accepted|does not accept|Unrecognized|unrecognized|Expected a|does not exist|"
                       r"No such file|not a valid|Unable to load|Invalid|invalid|must be|required")
#: jsonargparse's scaffolding around the real complaint (a Union's alternatives, the value it was given);
#: ``Expected a <class 'NoneType'>`` is the ``None`` alternative of an optional class, never the point.
_NOISE = re.compile(r"Does not validate against any of the Union subtypes|^Subtypes:|^Errors:|^Given value|"
                    r"Expected a <class 'NoneType'>|^Problem with given class_path")
_PARSER_KEY = re.compile(r'^Parser key "([^"]+)":\s*(.*)$')


def summarize_parse_error(message: str) -> str:
    """jsonargparse's innermost specific complaint on one line, under the full dotted key it concerns
    (``Parser key "model.lora": Group 'lora' does not accept option 'rr'``)."""
    entries = [(len(line) - len(line.lstrip()), line.strip().lstrip("- ").strip())
               for line in message.splitlines() if line.strip()]
    if not entries:
        return "invalid arguments"
    candidates = [(indent, i) for i, (indent, text) in enumerate(entries)
                  if i and _SPECIFIC.search(text) and not _NOISE.search(text)]
    if not candidates:
        return entries[0][1]
    _, chosen = max(candidates, key=lambda c: (c[0], -c[1]))  # the most nested, first among equals
    keys, indent = [], entries[chosen][0]
    for i in range(chosen, -1, -1):  # the Parser keys enclosing the complaint, outermost first
        line_indent, text = entries[i]
        match = _PARSER_KEY.match(text)
        if match and (i == chosen or line_indent < indent):
            keys.insert(0, match.group(1))
            indent = line_indent
    complaint = entries[chosen][1]
    match = _PARSER_KEY.match(complaint)
    if match and match.group(2):
        complaint = match.group(2)
    if not keys:
        head = entries[0][1]
        return complaint if complaint in head else f"{head} {complaint}"
    return f'Parser key "{".".join(keys)}": {complaint}'


def parse_command_line(parser: Any, argv: list[str], command: str) -> Any:
    """``parser.parse_args(argv)`` for a command other than the training ones; a bad command line becomes
    a UserError ``<command>: <what is wrong> (see --help)``, the same sentence the training parser prints."""
    try:
        return parser.parse_args(argv)
    except Exception as err:  # jsonargparse: unknown option, missing required option or bad type
        raise UserError(f"{command}: {summarize_parse_error(str(err))} (see --help)") from err

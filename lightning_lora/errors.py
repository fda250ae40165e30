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


_SPECIFIC = re.compile(r"not expected|not accepted|Unrecognized|unrecognized|Expected a|does not exist|No such file|"
                       r"not a valid|Unable to load|Invalid|invalid|must be|required")


def summarize_parse_error(message: str) -> str:
    """The key jsonargparse names plus its most specific complaint, on one line."""
    lines = [line.strip().lstrip("- ").strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "invalid arguments"
    specific = next((line for line in lines[1:] if _SPECIFIC.search(line)), None)
    head = lines[0]
    if specific and head.endswith(":"):
        return f"{head} {specific}"
    return head if not specific or specific in head else f"{head} {specific}"


def parse_command_line(parser: Any, argv: list[str], command: str) -> Any:
    """``parser.parse_args(argv)`` for a command other than the training ones; a bad command line becomes
    a UserError ``<command>: <what is wrong> (see --help)``, the same sentence the training parser prints."""
    try:
        return parser.parse_args(argv)
    except Exception as err:  # jsonargparse: unknown option, missing required option or bad type
        raise UserError(f"{command}: {summarize_parse_error(str(err))} (see --help)") from err

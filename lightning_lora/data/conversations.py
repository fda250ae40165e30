"""Conversations in the three shapes people bring, checked and normalised to chat messages.

- ``messages`` (OpenAI): ``{"messages": [{"role": "system" | "user" | "assistant", "content": "..."}, ...]}``
- ``sharegpt``: ``{"conversations": [{"from": "system" | "human" | "gpt", "value": "..."}, ...]}``
- ``alpaca``: ``{"instruction": "...", "input": "..." (optional), "output": "..."}`` (one exchange)

Every conversation becomes ``[system?] user assistant user assistant ... assistant``: an optional
system turn first, then strict user/assistant alternation, ending with the assistant. This module
knows nothing of tokenizers; :mod:`lightning_lora.data.chat` renders and masks.
"""

from __future__ import annotations

from typing import Any, Iterable

#: ``data.format`` values; ``auto`` picks the shape from the fields.
FORMATS = ("auto", "messages", "sharegpt", "alpaca")
#: The fields that identify each shape (a row of the shape has them all, non-null).
SHAPE_FIELDS = {"messages": ("messages",), "sharegpt": ("conversations",), "alpaca": ("instruction", "output")}
ROLES = ("system", "user", "assistant")
#: ShareGPT speaker names (``from``) and the role each one is.
SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}

Message = dict[str, str]


class ConversationError(ValueError):
    """One row cannot be used; the message says why, the caller adds the file and line."""


def detect_format(columns: Iterable[str], counts: dict[str, int]) -> str | None:
    """The shape whose fields the data has; where several have, the one most rows are (``counts``)."""
    present = [shape for shape, fields in SHAPE_FIELDS.items() if all(f in columns for f in fields)]
    if not present:
        return None
    return max(present, key=lambda shape: counts.get(shape, 0))


def shape_of(row: dict[str, Any]) -> str | None:
    """The shape one row has (its identifying fields are non-null), or None."""
    for shape, fields in SHAPE_FIELDS.items():
        if all(row.get(f) is not None for f in fields):
            return shape
    return None


def to_messages(row: dict[str, Any], shape: str, system_prompt: str | None = None) -> list[Message]:
    """The row as checked chat messages; ``system_prompt`` opens a conversation that has no system turn.

    Raises :class:`ConversationError` for a row of another shape, an unknown role, empty content, or
    turns that do not alternate. An empty opening system turn is left out.
    """
    if not all(row.get(f) is not None for f in SHAPE_FIELDS[shape]):
        other = shape_of(row)
        has = ", ".join(k for k, v in row.items() if v is not None) or "nothing"
        raise ConversationError(f"has the {other} shape, not the {shape} shape of the rest" if other else
                                f"has no {' / '.join(repr(f) for f in SHAPE_FIELDS[shape])} like the rest "
                                f"(it has: {has})")
    if shape == "alpaca":
        messages = _alpaca(row)
    else:
        turns = row[SHAPE_FIELDS[shape][0]]
        if not isinstance(turns, list) or not turns:
            raise ConversationError(f"field {SHAPE_FIELDS[shape][0]!r} must be a non-empty list of turns, got {turns!r}")
        messages = [_message(turn, shape, number) for number, turn in enumerate(turns, start=1)]
        if messages[0]["role"] == "system" and not messages[0]["content"].strip():
            messages = messages[1:]  # an empty system turn is no system turn (common in ShareGPT exports)
    if system_prompt and (not messages or messages[0]["role"] != "system"):
        messages.insert(0, {"role": "system", "content": system_prompt})
    check_alternation(messages)
    return messages


def _message(turn: Any, shape: str, number: int) -> Message:
    role_key, content_key = ("role", "content") if shape == "messages" else ("from", "value")
    if not isinstance(turn, dict):
        raise ConversationError(f"turn {number} is a {type(turn).__name__}, not an object with {role_key!r} and {content_key!r}")
    speaker = turn.get(role_key)
    names = dict(zip(ROLES, ROLES)) if shape == "messages" else SHAREGPT_ROLES
    role = names.get(speaker) if isinstance(speaker, str) else None
    if role is None:
        known = ROLES if shape == "messages" else tuple(SHAREGPT_ROLES)
        raise ConversationError(f"turn {number} has unknown {role_key} {speaker!r}; expected one of {', '.join(known)}")
    content = turn.get(content_key)
    if role == "system" and number == 1 and isinstance(content, str):
        return {"role": role, "content": content}
    return {"role": role, "content": _text(content, f"turn {number} ({role}) {content_key}")}


def _alpaca(row: dict[str, Any]) -> list[Message]:
    instruction = _text(row.get("instruction"), "instruction")
    extra = row.get("input")
    if extra is not None and not isinstance(extra, str):
        raise ConversationError(f"input is a {type(extra).__name__}, not text")
    user = f"{instruction}\n\n{extra}" if extra and extra.strip() else instruction
    return [{"role": "user", "content": user}, {"role": "assistant", "content": _text(row.get("output"), "output")}]


def _text(value: Any, what: str) -> str:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, str):
        raise ConversationError(f"{what} is empty")
    raise ConversationError(f"{what} is {'missing' if value is None else f'a {type(value).__name__}, not text'}")


def check_alternation(messages: list[Message]) -> None:
    """An optional system turn, then user/assistant alternation ending with the assistant."""
    roles = [m["role"] for m in messages]
    body = roles[1:] if roles[:1] == ["system"] else roles
    expected = ["user", "assistant"] * (len(body) // 2)
    if not body or body != expected or len(body) % 2:
        raise ConversationError(f"turns go {', '.join(roles) or '(none)'}; a conversation must be an optional system turn, then "
                                "user and assistant turns alternating, starting with user and ending with assistant")

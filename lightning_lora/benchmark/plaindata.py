"""Builtin values as tagged JSON, so a verdict can be computed on plain data outside the sandbox.

``encode`` turns a value of a builtin type into JSON-safe nested lists that keep what JSON alone loses
(tuple vs list, sets, int dict keys, exact floats, NaN, big ints); ``decode`` turns them back into
values of exactly the builtin types. An instance of a subclass (``Counter``, a namedtuple, an ``int``
with its own ``__eq__``) is encoded by its underlying builtin data, read through the base type's own
slots, so none of the subclass's methods survive; any other object becomes an opaque marker that
compares equal to nothing.

This module imports only the standard library: its source also runs inside the sandbox.
"""

from __future__ import annotations

#: Tag -> builtin type; "?" marks an object of another type (kept as its type's name only).
_SCALARS = {"b": bool, "i": int, "f": float, "s": str, "y": bytes, "c": complex}


class Opaque:
    """Stands for a returned object that is not builtin data; equal to nothing, not even itself."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError(f"a {self.type_name} is not builtin data")

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def _float(x: float) -> str:
    return float.hex(x)


def encode(value: object, depth: int = 0) -> object:
    """``value`` as tagged JSON-safe lists; raises ValueError past 200 levels of nesting."""
    if depth > 200:
        raise ValueError("value nested more than 200 levels deep")
    d = depth + 1
    if value is None:
        return ["N"]
    if isinstance(value, bool):  # bool cannot be subclassed
        return ["b", value is True]
    if isinstance(value, int):
        return ["i", format(int.__int__(value), "x")]
    if isinstance(value, float):
        return ["f", _float(float.__float__(value))]
    if isinstance(value, str):
        return ["s", str.__str__(value)]
    if isinstance(value, (bytes, bytearray)):
        return ["y", bytes(value).hex()]
    if isinstance(value, complex):
        z = complex.__complex__(value)
        return ["c", [_float(z.real), _float(z.imag)]]
    if isinstance(value, tuple):
        return ["t", [encode(v, d) for v in tuple.__iter__(value)]]
    if isinstance(value, list):
        return ["l", [encode(v, d) for v in list.__iter__(value)]]
    if isinstance(value, dict):
        return ["d", [[encode(k, d), encode(v, d)] for k, v in dict.items(value)]]
    if isinstance(value, frozenset):
        return ["F", [encode(v, d) for v in frozenset.__iter__(value)]]
    if isinstance(value, set):
        return ["S", [encode(v, d) for v in set.__iter__(value)]]
    return ["?", type(value).__name__[:100]]


_ESCAPES = {i: f"\\u{i:04x}" for i in range(32)} | {ord('"'): '\\"', ord("\\"): "\\\\"}


def _json_string(text: str) -> str:
    if text.isascii():
        return '"' + text.translate(_ESCAPES) + '"'
    parts = []
    for ch in text:
        code = ord(ch)
        if code < 0x7F:
            parts.append(ch.translate(_ESCAPES))
        elif code < 0x10000:
            parts.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            parts.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return '"' + "".join(parts) + '"'


def to_json(data: object) -> str:
    """JSON text of :func:`encode`'s output (lists, str, bool, None) without the json module, whose
    import (it loads ``re``) would double a sandboxed program's start-up time."""
    if isinstance(data, str):
        return _json_string(data)
    if isinstance(data, list):
        return "[" + ", ".join(to_json(v) for v in data) + "]"
    if isinstance(data, dict):
        return "{" + ", ".join(_json_string(k) + ": " + to_json(v) for k, v in data.items()) + "}"
    if data is None:
        return "null"
    if data is True or data is False:
        return "true" if data else "false"
    if isinstance(data, int):
        return str(int.__int__(data))
    raise ValueError(f"cannot write a {type(data).__name__} as JSON")


def decode(data: object) -> object:
    """The value :func:`encode` wrote; ValueError for anything it could not have written."""
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise ValueError("not a tagged value")
    tag = data[0]
    if tag == "N" and len(data) == 1:
        return None
    if len(data) != 2:
        raise ValueError(f"tag {tag!r} needs one payload")
    payload = data[1]
    try:
        if tag == "b" and isinstance(payload, bool):
            return payload
        if tag == "i" and isinstance(payload, str):
            return int(payload, 16)
        if tag == "f" and isinstance(payload, str):
            return float.fromhex(payload)
        if tag == "s" and isinstance(payload, str):
            return payload
        if tag == "y" and isinstance(payload, str):
            return bytes.fromhex(payload)
        if tag == "c" and isinstance(payload, list) and len(payload) == 2:
            return complex(float.fromhex(payload[0]), float.fromhex(payload[1]))
        if tag == "?" and isinstance(payload, str):
            return Opaque(payload)
        if isinstance(payload, list):
            if tag == "l":
                return [decode(v) for v in payload]
            if tag == "t":
                return tuple(decode(v) for v in payload)
            if tag == "S":
                return {decode(v) for v in payload}
            if tag == "F":
                return frozenset(decode(v) for v in payload)
            if tag == "d":
                if not all(isinstance(kv, list) and len(kv) == 2 for kv in payload):
                    raise ValueError("dict items must be pairs")
                return {decode(k): decode(v) for k, v in payload}
    except (TypeError, AttributeError, OverflowError) as e:  # unhashable key, bad hex, ...
        raise ValueError(f"malformed {tag!r} value ({e})") from None
    raise ValueError(f"unknown tag {tag!r} or bad payload")


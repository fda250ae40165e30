"""One place that turns a problem statement into model input text, for training and generation alike.

Training (prompt+solution mode) and the code benchmark must build the prompt the same way, or the
benchmark measures a different task than the one trained. Both call :func:`build_prompt`.
"""

from __future__ import annotations

from typing import Any

from lightning_lora.errors import UserError

#: Used when a tokenizer has no chat template (base models such as distilgpt2).
PLAIN_PROMPT_FORMAT = "{system}{prompt}\n\n"


def has_chat_template(tokenizer: Any) -> bool:
    """True when the tokenizer carries a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def build_prompt(tokenizer: Any, prompt: str, system_prompt: str | None = None) -> str:
    """Text the model sees before its answer: the chat template with a generation prompt, or a plain format.

    Args:
        tokenizer: a Hugging Face tokenizer.
        prompt: the user's message (a problem statement, a question).
        system_prompt: optional system message; empty or None leaves it out.
    """
    if has_chat_template(tokenizer):
        messages = []
        if system_prompt:
            messages.append({"role": "system", "content": system_prompt})
        messages.append({"role": "user", "content": prompt})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    system = f"{system_prompt}\n\n" if system_prompt else ""
    return PLAIN_PROMPT_FORMAT.format(system=system, prompt=prompt)


def build_prefilled_prompt(tokenizer: Any, prompt: str, system_prompt: str | None, prefill: str) -> str:
    """:func:`build_prompt` with the start of the answer already written (``prefill``, e.g. an opening code fence).

    With a chat template the assistant turn is rendered with ``prefill`` as its content and cut right after it, so
    the template's own assistant header is used; without one ``prefill`` follows the plain format.
    """
    if not has_chat_template(tokenizer):
        return build_prompt(tokenizer, prompt, system_prompt) + prefill
    marker = "\u2063PREFILL-END\u2063"
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": prefill + marker}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    head = build_prompt(tokenizer, prompt, system_prompt)
    if marker in rendered and rendered.startswith(head):
        return rendered[: rendered.index(marker)]
    return head + prefill  # a template that rewrites assistant content: the generation prompt, then the prefill


def build_completion(tokenizer: Any, prompt: str, answer: str, system_prompt: str | None = None) -> str:
    """Text that follows :func:`build_prompt` in a training sample: the answer and its end-of-turn marker.

    With a chat template the full conversation is rendered and the prompt part cut off, so the
    template's own end-of-turn tokens are kept; without one the tokenizer's EOS token ends the answer.
    """
    if has_chat_template(tokenizer):
        head = build_prompt(tokenizer, prompt, system_prompt)
        messages = []
        if system_prompt:
            messages.append({"role": "system", "content": system_prompt})
        messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        if not full.startswith(head):
            raise UserError(
                "The tokenizer's chat template renders the prompt differently with and without the answer; "
                "set data.mode to 'solution' or give the tokenizer a chat template whose generation prompt is a prefix."
            )
        return full[len(head):]
    return answer + (tokenizer.eos_token or "")

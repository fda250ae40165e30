"""``chat``: a conversation in the terminal with a checkpoint, a config's base model or an exported folder,
in the chat template and system prompt training used.

    python -m lightning_lora chat --ckpt_path checkpoints/quickstart/best      # or the run folder checkpoints/quickstart

Replies stream as they are generated. ``/reset`` forgets the conversation, ``/system TEXT`` sets the system
prompt (``/system`` alone removes it), ``/exit`` or Ctrl-D quits, Ctrl-C stops the reply being generated
and the session goes on. When the conversation outgrows the model's context, the oldest turns are dropped.
The model is loaded by :func:`~lightning_lora.training.restore.restore`, as ``generate`` loads it.
"""

from __future__ import annotations

import sys
from typing import Any

from jsonargparse import ArgumentParser

from lightning_lora.commands.model_options import add_generation_arguments, add_model_arguments, options_of
from lightning_lora.errors import UserError, parse_command_line
from lightning_lora.inference.generation import ChatHistory, context_length, generate_text
from lightning_lora.inference.prompting import has_chat_template
from lightning_lora.training.restore import restore

HELP = "/reset forgets the conversation, /system TEXT sets the system prompt, /exit or Ctrl-D quits, Ctrl-C stops a reply"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="lightning_lora chat", exit_on_error=False, description=__doc__.strip().splitlines()[0])
    add_model_arguments(p)
    add_generation_arguments(p)
    return p


def _say(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    """``python -m lightning_lora chat ...``; see the module docstring."""
    args = parse_command_line(build_parser(), argv[1:], "chat")
    options = options_of(args)
    loaded = restore(args.ckpt_path, args.config, args.model, command="chat", text_model=True)
    model, tokenizer = loaded.model, loaded.tokenizer
    if not (loaded.prompt.chat and has_chat_template(tokenizer)):
        raise UserError("chat needs a model trained through a chat template; this one's tokenizer has none "
                        "(or it was trained on bare text): use generate.")
    system = loaded.prompt.system_prompt if args.system_prompt is None else (args.system_prompt or None)
    history = ChatHistory(system)
    limit = context_length(model)
    # Room for a whole answer, but never more than half the context: a long budget must not starve the history.
    budget = None if limit is None else limit - min(options.max_new_tokens, limit // 2)
    try:
        import readline  # noqa: F401  (line editing and history for input(), where available)
    except ImportError:
        pass
    print(f"chat with {loaded.source}\nsystem prompt: {system!r}\n{HELP}")
    told_dropping = False
    while True:
        try:
            line = input("you> ")
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print("\n(Ctrl-D or /exit quits)")
            continue
        text = line.strip()
        if not text:
            continue
        if text == "/exit":
            return 0
        if text == "/reset":
            history.turns.clear()
            print("(conversation reset)")
            continue
        if text == "/system" or text.startswith("/system "):
            history.system_prompt = text[len("/system"):].strip() or None
            print(f"(system prompt: {history.system_prompt!r})")
            continue
        if text.startswith("/"):
            print(f"(unknown command {text.split()[0]}; {HELP})")
            continue
        history.turns.append({"role": "user", "content": line})
        if budget is not None:
            try:
                dropped = history.fit(tokenizer, budget)
            except UserError as err:
                history.turns.pop()
                print(f"({err})")
                continue
            if dropped and not told_dropping:
                print(f"(the conversation outgrew the model's context of {limit} tokens: the oldest turns are dropped "
                      "from now on)")
                told_dropping = True
        _say(_reply(model, tokenizer, history, options))


def _reply(model: Any, tokenizer: Any, history: ChatHistory, options: Any) -> str:
    """Stream the assistant's reply and keep it in the history; Ctrl-C keeps what came so far. Returns what ends
    the reply's line."""
    pieces: list[str] = []

    def write(piece: str) -> None:
        pieces.append(piece)
        _say(piece)

    _say("assistant> ")
    try:
        reply = generate_text(model, tokenizer, history.render(tokenizer), options, write)
    except KeyboardInterrupt:
        reply = "".join(pieces)
        if reply:
            history.turns.append({"role": "assistant", "content": reply})
        else:
            history.turns.pop()  # nothing said: the question is dropped too
        return "\n(stopped)\n"
    history.turns.append({"role": "assistant", "content": reply})
    return "" if reply.endswith("\n") else "\n"

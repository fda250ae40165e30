"""``generate``: answers from a fine-tuned checkpoint, a config's base model or an exported folder, in the
prompt format training used (chat template and system prompt), greedy unless ``--temperature`` is above 0.

    python -m lightning_lora generate --ckpt_path checkpoints/quickstart/best --prompt "Read two integers ..."
    python -m lightning_lora generate --config configs/quickstart.yaml --prompt "..."        # the base model
    python -m lightning_lora generate --model exported/merged --input prompts.jsonl --output answers.jsonl

``--ckpt_path`` also takes a run folder (its ``best``, else ``last.ckpt``); the model is loaded by
:func:`~lightning_lora.training.restore.restore`, as every command loads it. One ``--prompt`` is streamed to the
terminal as it is generated; ``--input`` (jsonl, a ``prompt`` field per line) is generated in batches with a
progress bar and written to ``--output`` (each row plus ``completion``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from jsonargparse import ActionYesNo, ArgumentParser

from lightning_lora.commands.model_options import add_generation_arguments, add_model_arguments, options_of
from lightning_lora.errors import UserError, parse_command_line
from lightning_lora.inference.generation import check_fits, generate_batch, generate_text
from lightning_lora.problems.sources import read_jsonl
from lightning_lora.training.restore import restore


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="lightning_lora generate", exit_on_error=False, description=__doc__.strip().splitlines()[0])
    add_model_arguments(p)
    p.add_argument("--prompt", type=str | None, default=None, help="one message; the answer is streamed")
    p.add_argument("--input", type=str | None, default=None, help='jsonl of {"prompt": ...} rows (other fields are kept)')
    p.add_argument("--output", type=str | None, default=None, help="jsonl written with --input: each row plus 'completion'")
    p.add_argument("--batch_size", type=int, default=8, help="prompts per generate call with --input")
    p.add_argument("--stream", action=ActionYesNo, default=True, help="print the answer to --prompt as it comes")
    add_generation_arguments(p)
    return p


def read_prompts(path: Path) -> list[dict[str, Any]]:
    """Rows of a prompts jsonl; one ``error:`` line for a missing or empty file or a bad line."""
    rows = []
    try:
        for lineno, row in read_jsonl(path, what="--input"):
            if not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
                raise UserError(f"--input {path} line {lineno} has no 'prompt' text.")
            rows.append(row)
    except ValueError as err:  # a missing file, a line that is not a JSON object
        raise UserError(str(err)) from err
    if not rows:
        raise UserError(f"--input {path} is empty: it holds no prompts.")
    return rows


def main(argv: list[str]) -> int:
    """``python -m lightning_lora generate ...``; see the module docstring."""
    args = parse_command_line(build_parser(), argv[1:], "generate")
    if (args.prompt is None) == (args.input is None):
        raise UserError("generate needs one of --prompt TEXT or --input prompts.jsonl.")
    if args.input is not None and args.output is None:
        raise UserError("generate --input needs --output (the jsonl to write).")
    if args.batch_size < 1:
        raise UserError(f"--batch_size must be at least 1, got {args.batch_size}.")
    options = options_of(args)
    rows = read_prompts(Path(args.input)) if args.input is not None else None
    loaded = restore(args.ckpt_path, args.config, args.model, command="generate", text_model=True)
    if args.system_prompt is not None:
        loaded.prompt.system_prompt = args.system_prompt or None
    model, tokenizer, fmt = loaded.model, loaded.tokenizer, loaded.prompt
    print(f"generate: {loaded.source}; system prompt: {fmt.system_prompt!r}", file=sys.stderr)
    if rows is None:
        write = None
        if args.stream:
            def write(text: str) -> None:
                sys.stdout.write(text)
                sys.stdout.flush()
        answer = generate_text(model, tokenizer, fmt.render(tokenizer, args.prompt), options, write)
        sys.stdout.write(("" if args.stream else answer) + "\n")
        return 0
    texts = [fmt.render(tokenizer, row["prompt"]) for row in rows]
    for lineno, text in enumerate(texts, start=1):
        check_fits(model, len(tokenizer(text, add_special_tokens=False)["input_ids"]), f"--input {args.input} prompt {lineno}")
    answers = generate_batch(model, tokenizer, texts, options, batch_size=args.batch_size)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        for row, answer in zip(rows, answers):
            f.write(json.dumps({**row, "completion": answer}, ensure_ascii=False) + "\n")
    print(f"generate: {len(rows)} answers written to {output}", file=sys.stderr)
    return 0

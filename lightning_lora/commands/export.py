"""``export``: a checkpoint as a PEFT adapter folder or (``--merge``) a merged Hugging Face model folder.

    python -m lightning_lora export --ckpt_path checkpoints/quickstart/best --output exports/quickstart
    python -m lightning_lora export --config X --ckpt_path Y --output DIR --merge [--push_to_hub user/repo]

The model is built from the training config exactly as ``benchmark`` builds it, and the checkpoint's
trainable weights are loaded after checking they belong to it.
"""

from __future__ import annotations

from pathlib import Path

from jsonargparse import ActionYesNo, ArgumentParser

from lightning_lora.checkpoints import load_trainable_weights, read_metadata
from lightning_lora.errors import parse_command_line
from lightning_lora.export import ExportError, check_exportable, check_output, export_module, push_to_hub
from lightning_lora.inference_models import prompt_format_of
from lightning_lora.model_card import model_card, run_figures
from lightning_lora.training_cli import build_from_config


def build_parser() -> ArgumentParser:
    """Options of ``python -m lightning_lora export``."""
    p = ArgumentParser(prog="lightning_lora export", exit_on_error=False,
                       description="Write a checkpoint as a PEFT adapter folder or (--merge) a plain Hugging Face model folder.")
    p.add_argument("--ckpt_path", type=str, required=True, help="checkpoint written by fit (e.g. checkpoints/<run>/best)")
    p.add_argument("--output", type=str, required=True,
                   help="folder to write: new, empty, or (with --overwrite) a previous export")
    p.add_argument("--config", type=str | None, default=None,
                   help="training config of the checkpoint (default: config.yaml beside the checkpoint, saved by fit)")
    p.add_argument("--merge", action=ActionYesNo, default=False,
                   help="merge the adapter into the base weights and write a plain model (required for full / bitfit)")
    p.add_argument("--overwrite", action=ActionYesNo, default=False, help="replace a previous export in --output")
    p.add_argument("--push_to_hub", type=str | None, default=None, help="also upload the folder to this hub repository id")
    return p


def main(argv: list[str]) -> int:
    """``python -m lightning_lora export --ckpt_path Y --output DIR [--config X] [--merge] [--push_to_hub REPO]``."""
    args = parse_command_line(build_parser(), argv[1:], "export")
    ckpt_path = Path(args.ckpt_path).expanduser()
    if not ckpt_path.is_file():
        raise ExportError(f"--ckpt_path {args.ckpt_path}: no checkpoint file there.")
    config = Path(args.config) if args.config else ckpt_path.parent / "config.yaml"
    if not config.is_file():
        raise ExportError(f"export needs the training config: --config {args.config or config} not found.")
    output = Path(args.output).expanduser()
    check_output(output, args.overwrite)
    check_exportable((read_metadata(ckpt_path) or {}).get("method"), args.merge)  # before the model is built

    print(f"export: building the model of {config} and loading {ckpt_path}")
    cli = build_from_config(config)
    module = cli.model
    step = load_trainable_weights(module, ckpt_path)
    figures = run_figures(ckpt_path, cli.config.run_name, (read_metadata(ckpt_path) or {}).get("logger_version"))
    data = {"class_path": cli.config.data.class_path, "path": cli.config.data.init_args.get("path")}
    record = export_module(module, output, args.merge,
                           {"checkpoint": str(ckpt_path.resolve()), "step": step, "config": str(config.resolve())},
                           prompt=prompt_format_of(cli.datamodule), card=lambda rec: model_card(rec, figures, data))
    kind = "merged model" if args.merge else "PEFT adapter"
    size = sum(f.stat().st_size for f in output.iterdir() if f.is_file())
    print(f"export: wrote the {kind} of {module.method} step {step} to {output} ({size / 2**20:.1f} MiB); "
          f"load it with {record['load_with']}")
    if args.push_to_hub:
        print(f"export: pushed to {push_to_hub(output, args.push_to_hub)}")
    return 0

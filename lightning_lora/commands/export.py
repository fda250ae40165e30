"""``export``: a checkpoint as a PEFT adapter folder or (``--merge``) a merged Hugging Face model folder.

    python -m lightning_lora export --ckpt_path checkpoints/quickstart/best --output exports/quickstart
    python -m lightning_lora export --config X --ckpt_path Y --output DIR --merge [--push_to_hub user/repo]

The model is loaded by :func:`~lightning_lora.training.restore.restore`, as every command loads it (``--ckpt_path``
also takes a run folder): the checkpoint is read once, its method checked to be exportable before any model is
built, then its trainable weights are loaded into the model its training config builds, after checking they
belong to it.
"""

from __future__ import annotations

from pathlib import Path

from jsonargparse import ActionYesNo, ArgumentParser

from lightning_lora.commands.model_options import CKPT_PATH_HELP
from lightning_lora.errors import parse_command_line
from lightning_lora.export.model_card import model_card, run_figures
from lightning_lora.export.writer import check_exportable, check_output, export_module, push_to_hub
from lightning_lora.training.restore import Restored, restore


def build_parser() -> ArgumentParser:
    """Options of ``python -m lightning_lora export``."""
    p = ArgumentParser(prog="lightning_lora export", exit_on_error=False,
                       description="Write a checkpoint as a PEFT adapter folder or (--merge) a plain Hugging Face model folder.")
    p.add_argument("--ckpt_path", type=str, required=True, help=CKPT_PATH_HELP)
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
    output = Path(args.output).expanduser()

    def before_build(found: Restored) -> None:  # the checkpoint and config exist: refuse what cannot be exported
        check_output(output, args.overwrite)
        check_exportable((found.metadata or {}).get("method"), args.merge)
        print(f"export: building the model of {found.config_path} and loading {found.ckpt_path}")

    restored = restore(args.ckpt_path, args.config, command="export", before_build=before_build)
    module, ckpt_path, step = restored.module, restored.ckpt_path, restored.step
    assert ckpt_path is not None and restored.config_path is not None and restored.metadata is not None
    cli = restored.cli
    figures = run_figures(ckpt_path, cli.config.run_name, restored.metadata.get("logger_version"))
    data = {"class_path": cli.config.data.class_path, "path": cli.config.data.init_args.get("path")}
    record = export_module(module, output, args.merge,
                           {"checkpoint": str(ckpt_path.resolve()), "step": step,
                            "config": str(restored.config_path.resolve())},
                           prompt=restored.prompt, card=lambda rec: model_card(rec, figures, data))
    kind = "merged model" if args.merge else "PEFT adapter"
    size = sum(f.stat().st_size for f in output.iterdir() if f.is_file())
    print(f"export: wrote the {kind} of {module.method} step {step} to {output} ({size / 2**20:.1f} MiB); "
          f"load it with {record['load_with']}")
    if args.push_to_hub:
        print(f"export: pushed to {push_to_hub(output, args.push_to_hub)}")
    return 0

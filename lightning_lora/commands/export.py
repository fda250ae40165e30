"""``export``: a checkpoint as a PEFT adapter folder or (``--merge``) a merged Hugging Face model folder; or, with
``--format gguf``, one merged ``.gguf`` file (llama.cpp), and with ``--format gguf-lora`` the LoRA adapter alone as a
GGUF adapter file (llama.cpp's ``--lora``).

    python -m lightning_lora export --ckpt_path checkpoints/quickstart/best --output exports/quickstart
    python -m lightning_lora export --config X --ckpt_path Y --output DIR --merge [--push_to_hub user/repo]
    python -m lightning_lora export --ckpt_path Y --output model.gguf --format gguf [--gguf_type f16|bf16|f32|q8_0]
    python -m lightning_lora export --model exports/merged --output model.gguf --format gguf
    python -m lightning_lora export --ckpt_path Y --output adapter.gguf --format gguf-lora

The model is loaded by :func:`~lightning_lora.training.restore.restore`, as every command loads it (``--ckpt_path``
also takes a run folder): the checkpoint is read once, its method checked to be exportable before any model is
built, then its trainable weights are loaded into the model its training config builds, after checking they
belong to it. ``--model`` (GGUF formats) reads an exported folder instead
(:func:`~lightning_lora.export.reader.load_exported`): a merged export, or an adapter export merged on its base.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonargparse import ActionYesNo, ArgumentParser

from lightning_lora.commands.model_options import CKPT_PATH_HELP
from lightning_lora.errors import parse_command_line
from lightning_lora.export.model_card import model_card, run_figures
from lightning_lora.export.writer import ExportError, check_exportable, check_output, export_module, push_to_hub
from lightning_lora.models.registry import resolve_real_spec
from lightning_lora.training.restore import Restored, restore

#: --format: what is written. ``folder`` is the adapter or (--merge) model folder; the others are one GGUF file.
FORMATS = ("folder", "gguf", "gguf-lora")


def build_parser() -> ArgumentParser:
    """Options of ``python -m lightning_lora export``."""
    p = ArgumentParser(prog="lightning_lora export", exit_on_error=False,
                       description="Write a checkpoint as a PEFT adapter folder or (--merge) a plain Hugging Face model "
                                   "folder; or (--format gguf / gguf-lora) as one GGUF file for llama.cpp.")
    p.add_argument("--ckpt_path", type=str | None, default=None, help=CKPT_PATH_HELP)
    p.add_argument("--model", type=str | None, default=None,
                   help="an exported folder (merged, or an adapter on its base), a model folder or real:<name> to convert "
                        "instead of a checkpoint (--format gguf / gguf-lora only)")
    p.add_argument("--output", type=str, required=True,
                   help="folder to write: new, empty, or (with --overwrite) a previous export; "
                        "for the GGUF formats a .gguf file")
    p.add_argument("--format", type=str, default="folder",
                   help="folder: a PEFT adapter or (--merge) a Hugging Face model folder; gguf: the merged model "
                        "as one .gguf file; gguf-lora: the LoRA adapter as a GGUF adapter file for llama.cpp --lora")
    p.add_argument("--gguf_type", type=str | None, default=None,
                   help="tensor type of the GGUF formats: bf16 (default for gguf of a bf16 model: its exact weights), "
                        "f16 (default for gguf of other models), f32 (default for gguf-lora: the adapter is small and "
                        "keeps its exact values) or q8_0; 1-D tensors stay f32")
    p.add_argument("--config", type=str | None, default=None,
                   help="training config of the checkpoint (default: config.yaml beside the checkpoint, saved by fit)")
    p.add_argument("--merge", action=ActionYesNo, default=False,
                   help="merge the adapter into the base weights and write a plain model (required for full / bitfit)")
    p.add_argument("--overwrite", action=ActionYesNo, default=False,
                   help="replace a previous export in --output (a previous .gguf file for the GGUF formats)")
    p.add_argument("--push_to_hub", type=str | None, default=None, help="also upload the folder to this hub repository id")
    return p


def main(argv: list[str]) -> int:
    """``python -m lightning_lora export --ckpt_path Y --output DIR [--config X] [--merge] [--push_to_hub REPO]``;
    ``--format gguf | gguf-lora`` (:func:`export_gguf`)."""
    args = parse_command_line(build_parser(), argv[1:], "export")
    output = Path(args.output).expanduser()
    check_options(args)
    if args.format != "folder":
        return export_gguf(args, output)

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


def check_options(args: Any) -> None:
    """One line for options that cannot go together, before anything is read."""
    if args.format not in FORMATS:
        raise ExportError(f"--format {args.format!r} is not one of {', '.join(FORMATS)}.")
    if args.format == "folder":
        if args.gguf_type is not None:
            raise ExportError("--gguf_type goes with --format gguf or gguf-lora.")
        if args.model is not None or args.ckpt_path is None:
            raise ExportError("export needs --ckpt_path C (a checkpoint or a run folder); --model converts an exported "
                              "folder with --format gguf or gguf-lora only.")
        return
    from lightning_lora.export.gguf import check_gguf_type, default_gguf_type

    check_gguf_type(args.gguf_type or default_gguf_type(args.format))
    if (args.ckpt_path is None) == (args.model is None):
        raise ExportError(f"export --format {args.format} needs one of --ckpt_path C (a checkpoint or a run folder) "
                          "or --model DIR (an exported folder).")
    if args.model is not None and args.config is not None:
        raise ExportError("export: --model and --config exclude each other.")
    if args.merge and args.format == "gguf-lora":
        raise ExportError("--merge and --format gguf-lora exclude each other: gguf-lora writes the adapter alone, "
                          "--format gguf the merged model.")
    if args.push_to_hub:
        raise ExportError(f"--push_to_hub uploads folder exports; upload the .gguf file with "
                          f"`hf upload {args.push_to_hub} {args.output}`.")


def export_gguf(args: Any, output: Path) -> int:
    """``--format gguf`` (the merged model as one .gguf file) or ``gguf-lora`` (the LoRA adapter as a GGUF adapter)."""
    from lightning_lora.export.gguf import (
        check_model,
        check_output_file,
        default_gguf_type,
        merged,
        write_gguf,
        write_gguf_lora,
    )
    from lightning_lora.models.loading import weights_dtype

    check_output_file(output, args.overwrite)
    if args.model is not None:
        model, tokenizer, prompt, source, method = _exported_folder(Path(resolve_real_spec(args.model)).expanduser())
    else:
        model, tokenizer, prompt, source, method = _checkpoint(args)
    check_model(model)
    gguf_type = args.gguf_type or default_gguf_type(args.format, weights_dtype(model))
    if args.format == "gguf-lora":
        stored = write_gguf_lora(model, output, gguf_type, prompt, source)
        kind = f"LoRA adapter ({len(stored) // 2} adapted weights)"
    else:
        stored = write_gguf(merged(model, method), tokenizer, output, gguf_type, prompt, source)
        kind = "merged model"
    print(f"export: wrote the {kind} of {source.method} to {output} ({output.stat().st_size / 2**20:.1f} MiB, "
          f"{gguf_type}, {len(stored)} tensors)")
    return 0


def _checkpoint(args: Any) -> tuple[Any, Any, Any, Any, str | None]:
    """Model, tokenizer, prompt format, provenance and method of a checkpoint (or a run folder's best)."""
    from lightning_lora.export.gguf import GGUFSource, check_lora_method

    def before_build(found: Restored) -> None:  # refuse what cannot be exported before any model loads
        if args.format == "gguf-lora":
            check_lora_method((found.metadata or {}).get("method"))
        print(f"export: building the model of {found.config_path} and loading {found.ckpt_path}")

    restored = restore(args.ckpt_path, args.config, command="export", before_build=before_build)
    module = restored.module
    source = GGUFSource(module.model_name_or_path, module.method, str(restored.checkpoint_file), restored.step)
    return module.model, module.tokenizer, restored.prompt, source, module.method


def _exported_folder(folder: Path) -> tuple[Any, Any, Any, Any, str | None]:
    """The same for an exported folder (merged, or an adapter on its base) or a Hugging Face model folder."""
    from lightning_lora.export.gguf import GGUFSource
    from lightning_lora.export.reader import load_exported

    exported = load_exported(folder, need_prompt_format=False)
    record = exported.record
    source = GGUFSource(record.get("base_model"), record.get("method"), str(folder.resolve()), record.get("step"))
    return exported.model, exported.tokenizer, exported.prompt, source, record.get("method")


"""The command line: help, config parsing for every shipped config, one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lightning_lora.__main__ import main

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_every_shipped_config_parses_and_says_how_to_run_it(config, capsys):
    first_lines = config.read_text().splitlines()[:3]
    assert first_lines[0].startswith("# ") and any("python -m lightning_lora" in line for line in first_lines)
    # Overlays (methods/, strategies/, loggers/) are composed with the quickstart, as their header says.
    overlay = config.parent.name in ("methods", "strategies", "loggers")
    base = ["--config", str(REPO / "configs" / "quickstart.yaml")] if overlay else []
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *base, "--config", str(config), "--print_config"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "model_name_or_path" in printed and "optimizer: null" not in printed


def test_model_name_is_written_once_and_linked_to_the_tokenizer(in_tmp):
    from lightning_lora.training.cli import build_cli

    cli = build_cli([*QUICK, "--model.model_name_or_path", "tiny:llama"], run=False)
    assert cli.datamodule.tokenizer_name_or_path == "tiny:llama"
    assert cli.model.model.base_model.model.config.model_type == "llama"
    assert "model_name_or_path" not in (REPO / "configs" / "quickstart.yaml").read_text().split("data:")[1]


@pytest.mark.parametrize("args", [["--help"], ["fit", "--help"], ["validate", "--help"], ["test", "--help"]])
def test_help(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_module_and_console_script_are_the_same_cli():
    out = subprocess.run([sys.executable, "-m", "lightning_lora", "--help"], capture_output=True, text=True, check=True)
    assert "{fit,validate,test,predict" in out.stdout.replace(" ", "")


@pytest.mark.parametrize(("args", "message"), [
    (["--data.path", "nowhere/data.jsonl"], "error: Data file nowhere/data.jsonl (data.path) does not exist."),
    (["--data.mode", "chat"], "error: data.mode must be one of solution, prompt_solution, got 'chat'."),
    (["--model.model_name_or_path", "./missing-model"],
     "error: Model path './missing-model' (model.model_name_or_path) does not exist."),
    (["--model.lora.target_modules", "[q_proj, qkv]"], "error: model.lora.target_modules: qkv not found in Qwen2ForCausalLM"),
    (["--model.method", "lorra"], "error: model.method 'lorra' is not one of"),
    (["--model.optimizer.scheduler", "step"], "error: model.optimizer.scheduler must be one of cosine, linear, constant"),
    (["--eval_every_n_steps", "0"], "error: --eval_every_n_steps must be a positive number of optimizer steps, got 0."),
    (["--trainer.accelerator", "cuda"], "error: "),
])
def test_bad_input_is_one_line_naming_the_option(in_tmp, capsys, args, message):
    assert main(["fit", *QUICK, "--trainer.max_steps", "1", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[-1].startswith(message) and "Traceback" not in err


@pytest.mark.parametrize("args", [["--trainer.max_steps", "many"], ["--model.lora.rank", "4"], ["--no_such_option", "1"]])
def test_type_errors_and_unknown_keys_are_rejected_by_the_parser(in_tmp, capsys, args):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *QUICK, *args])
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_validation_cadence_counts_optimizer_steps_under_gradient_accumulation(in_tmp):
    from lightning_lora.training.cli import build_cli

    cli = build_cli([*QUICK, "--eval_every_n_steps", "5", "--trainer.accumulate_grad_batches", "4"], run=False)
    assert cli.trainer.val_check_interval == 20  # 5 optimizer steps x 4 micro-batches
    assert cli.trainer.accumulate_grad_batches == 4


@pytest.mark.parametrize(("args", "fragment"), [
    (["--model.lora.r", "four"], 'Expected a <class \'int\'>. Got value: four'),
    (["--model.lora.rank", "4"], "lora.rank"),
])
def test_parser_errors_are_one_line(in_tmp, capsys, args, fragment):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *QUICK, *args])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and fragment in err and err.startswith("error: ")


def test_a_misspelled_key_inside_a_yaml_file_keeps_jsonargparses_real_complaint(in_tmp, capsys):
    (in_tmp / "typo.yaml").write_text("model:\n  init_args:\n    lora: {rr: 16}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *QUICK, "--config", "typo.yaml"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1
    assert err == "error: Parser key \"model\": Group 'lora' does not accept option 'rr' (see --help)"


@pytest.mark.parametrize(("text", "where"), [
    ("model:\n  init_args:\n\tlora: {r: 4}\n", "line 3, column 1: found character '\\t' that cannot start any token "
                                                "(YAML indents with spaces, not tabs)."),
    ("model:\n  init_args:\n    lora:\n     r: 4\n   method: lora\n", "line 5, column 4: expected <block end>"),
])
def test_a_yaml_syntax_error_names_the_file_and_line(in_tmp, capsys, text, where):
    (in_tmp / "bad.yaml").write_text(text)
    assert main(["fit", *QUICK, "--config", "bad.yaml"]) == 2
    assert capsys.readouterr().err.strip().startswith(f"error: --config bad.yaml, {where}")


@pytest.mark.parametrize("override", [["--model.lora.target_modules", "null"], ["--model.init_args.lora.target_modules=null"]])
def test_target_modules_null_on_the_command_line_restores_the_architecture_default(in_tmp, override):
    from lightning_lora.models.methods import LORA_TARGETS
    from lightning_lora.training.cli import build_cli

    cli = build_cli([*QUICK, "--model.lora.target_modules", "[q_proj]", *override], run=False)
    assert cli.model.lora.target_modules is None and cli.model.lora.r == 16  # the rest of the YAML's lora kept
    adapted = {name.rsplit(".lora_A", 1)[0].rsplit(".", 1)[-1] for name, _ in cli.model.model.named_modules()
               if name.endswith(".lora_A")}
    assert adapted == set(LORA_TARGETS["qwen2"])


def test_without_last_the_summary_points_at_the_newest_step_checkpoint(in_tmp, capsys):
    assert main(["fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.callbacks", "[]",
                 "--trainer.max_steps", "3", "--checkpoint.every_n_train_steps", "2", "--checkpoint.save_last", "false",
                 "--trainer.enable_progress_bar", "false", "--run_name", "nolast"]) == 0
    summary = capsys.readouterr().out
    assert not (in_tmp / "checkpoints" / "nolast" / "last.ckpt").exists()
    assert "Last checkpoint: checkpoints/nolast/step000003.ckpt" in summary and "kept + last" not in summary
    assert "export --ckpt_path checkpoints/nolast/step000003.ckpt --output exported/nolast" in summary


def test_a_fit_ends_with_a_summary_and_its_console_reads_without_library_noise(in_tmp, capsys):
    assert main(["fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.callbacks", "[]",
                 "--trainer.max_steps", "4", "--checkpoint.every_n_train_steps", "2", "--eval_every_n_steps", "2",
                 "--run_name", "first"]) == 0
    out, err = capsys.readouterr()
    summary = out[out.index("Finished: 4 steps in "):]
    assert "Final train/loss " in summary and ", val/loss " in summary
    assert "Last checkpoint: checkpoints/first/last.ckpt" in summary
    assert "Logs (TensorBoard, config.yaml, params.json, train_summary.json): tb_logs/first/version_0/" in summary
    for command in ("tensorboard --logdir tb_logs/first", "python -m lightning_lora report --runs tb_logs/first/version_0",
                    "python -m lightning_lora export --ckpt_path checkpoints/first/last.ckpt --output exported/first"):
        assert f"\n  {command}\n" in summary + "\n"
    assert "━" not in out and "Epoch 0" in err  # every progress bar on stderr
    for noise in ("v_num", "Epoch 0/-", "Total FLOPs", "FutureWarning", "deprecated", "litlogger", "LightningCLI's args"):
        assert noise not in out + err, noise

"""Using a fine-tuned model: ``generate`` (streamed and batched), exports that generate exactly what the
checkpoint generates with plain transformers, the model card, and one ``error:`` line per bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
QUICK = str(REPO / "configs" / "quickstart.yaml")
PROMPTS = ["Read two integers from one line and print their sum.", "Print the maximum of two integers a and b.",
           "Read n and print n squared."]
TOKENS = "16"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, _isolated_cache: Path) -> Path:
    """Twenty LoRA steps of the quickstart (validated and saved every ten), in a folder of its own."""
    root = tmp_path_factory.mktemp("generate_run")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        build_cli(["fit", "--config", QUICK, "--trainer.callbacks", "[]", "--trainer.max_steps", "20",
                   "--eval_every_n_steps", "10", "--checkpoint.every_n_train_steps", "10", "--model.optimizer.lr", "0.01",
                   "--model.optimizer.warmup_steps", "0", "--data.batch_size", "8", "--trainer.limit_val_batches", "2",
                   "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"])
    return root


def _ckpt(run: Path) -> str:
    return str(run / "checkpoints" / "quickstart" / "step000020.ckpt")


def _generate(capsys: pytest.CaptureFixture, *args: str) -> str:
    capsys.readouterr()
    assert main(["generate", "--max_new_tokens", TOKENS, *args]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n")
    return out[:-1]


def _error(capsys: pytest.CaptureFixture, *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and not any("Traceback" in line for line in lines)
    return lines[-1]


def _plain_transformers(folder: Path, prompt: str) -> str:
    """What a user of the export gets with transformers (and PEFT) alone, as the model card says."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    record = json.loads((folder / "export.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if record["merged"]:
        model = AutoModelForCausalLM.from_pretrained(folder)
    else:
        model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(record["base_model_path"]), str(folder))
        model.generation_config = GenerationConfig.from_pretrained(folder)
    system = record["prompt_format"]["system_prompt"]
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.eval().generate(**ids, max_new_tokens=int(TOKENS))
    return tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def test_exports_generate_exactly_what_the_checkpoint_generates(run, tmp_path, capsys):
    tuned = [_generate(capsys, "--ckpt_path", _ckpt(run), "--prompt", p) for p in PROMPTS]
    base = [_generate(capsys, "--config", QUICK, "--prompt", p) for p in PROMPTS]
    assert tuned != base  # the comparison below can tell a fine-tuned model from its base
    for merge in (False, True):
        folder = tmp_path / ("merged" if merge else "adapter")
        assert main(["export", "--ckpt_path", _ckpt(run), "--output", str(folder), *(["--merge"] if merge else [])]) == 0
        record = json.loads((folder / "export.json").read_text())
        assert record["prompt_format"] == {"chat_template": True, "chat": True,
                                           "system_prompt": "You are a helpful coding assistant."}
        generation = json.loads((folder / "generation_config.json").read_text())
        assert generation["do_sample"] is False and generation["pad_token_id"] is not None
        assert [_plain_transformers(folder, p) for p in PROMPTS] == tuned
        assert [_generate(capsys, "--model", str(folder), "--prompt", p) for p in PROMPTS] == tuned


def test_the_model_card_carries_the_runs_figures(run, tmp_path, capsys):
    from lightning_lora.reporting.runs import read_scalars

    folder = tmp_path / "adapter"
    assert main(["export", "--ckpt_path", _ckpt(run), "--output", str(folder)]) == 0
    card = (folder / "README.md").read_text()
    val_loss = read_scalars(run / "tb_logs" / "quickstart" / "version_0")["val/loss"]
    assert len(val_loss) == 2  # validated twice
    for step, value in val_loss:
        assert f"| {step} | {value:.4f} |" in card
    assert "tiny:qwen2" in card and "`lora`" in card and "synthetic:code" in card and "steps: 20" in card
    assert "You are a helpful coding assistant." in card and "PeftModel.from_pretrained" in card


def test_batched_input_gives_the_streamed_answers(run, tmp_path, capsys):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(PROMPTS)))
    streamed = [_generate(capsys, "--ckpt_path", _ckpt(run), "--prompt", p) for p in PROMPTS]
    out = tmp_path / "out.jsonl"
    assert main(["generate", "--max_new_tokens", TOKENS, "--ckpt_path", _ckpt(run), "--input", str(prompts),
                 "--output", str(out), "--batch_size", "2"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [0, 1, 2] and [r["completion"] for r in rows] == streamed


def test_stop_strings_cut_the_answer(run, capsys):
    full = _generate(capsys, "--ckpt_path", _ckpt(run), "--prompt", PROMPTS[0])
    stop = full.strip()[1:3]
    assert stop and len(full.strip()) > 3
    cut = _generate(capsys, "--ckpt_path", _ckpt(run), "--prompt", PROMPTS[0], "--stop", json.dumps([stop]))
    assert cut == full[:full.index(stop)]


def test_bad_input_is_one_line(run, tmp_path, capsys):
    ckpt = _ckpt(run)
    assert _error(capsys, "generate", "--ckpt_path", str(tmp_path / "nope.ckpt"), "--prompt", "hi") == (
        f"error: --ckpt_path {tmp_path / 'nope.ckpt'}: no checkpoint there (give a checkpoint file such as "
        "checkpoints/<run>/best, last.ckpt or stepNNNNNN.ckpt, or a run folder).")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert _error(capsys, "generate", "--ckpt_path", ckpt, "--input", str(empty), "--output", str(tmp_path / "o")) == (
        f"error: --input {empty} is empty: it holds no prompts.")
    assert re.fullmatch(r"error: The prompt is \d{4} tokens with the prompt format, but the model's context is 1024 "
                        r"tokens; shorten it\.", _error(capsys, "generate", "--ckpt_path", ckpt, "--prompt", "word " * 1500))
    merged = tmp_path / "merged"
    assert main(["export", "--ckpt_path", ckpt, "--output", str(merged), "--merge"]) == 0
    no_tokenizer = tmp_path / "no_tokenizer"
    shutil.copytree(merged, no_tokenizer)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (no_tokenizer / name).unlink()
    assert _error(capsys, "generate", "--model", str(no_tokenizer), "--prompt", "hi") == (
        f"error: --model {no_tokenizer} has no tokenizer files (tokenizer.json, tokenizer_config.json); "
        "an export made by lightning_lora export carries them.")
    no_template = tmp_path / "no_template"
    shutil.copytree(merged, no_template)
    (no_template / "export.json").unlink()
    (no_template / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((no_template / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (no_template / "tokenizer_config.json").write_text(json.dumps(config))
    assert _error(capsys, "chat", "--model", str(no_template)) == (
        f"error: --model {no_template}: its tokenizer has no chat template, so the prompt format the model expects "
        "is unknown; export it again with lightning_lora export, which writes it.")

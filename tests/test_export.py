"""Export: adapter and merged folders load as a user would load them and give the Lightning module's logits."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false", "--trainer.callbacks", "[]"]
TRAINED = ("lora", "dora", "ia3", "full", "bitfit")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, _isolated_cache: Path) -> Path:
    """Two optimizer steps per method (a high learning rate, so the weights really move), checkpoints under runs/."""
    root = tmp_path_factory.mktemp("export_runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for method in TRAINED:
            build_cli(["fit", *QUICK, "--run_name", method, "--model.method", method, "--trainer.max_steps", "2",
                       "--checkpoint.every_n_train_steps", "2", "--model.optimizer.lr", "0.01",
                       "--model.optimizer.warmup_steps", "0", "--data.batch_size", "4",
                       "--trainer.num_sanity_val_steps", "0"])
    return root


def _error(capsys: pytest.CaptureFixture) -> str:
    """The error line (model loading may have drawn a progress bar on stderr before it)."""
    lines = capsys.readouterr().err.strip().splitlines()
    return lines[-1] if lines else ""


def _ckpt(runs: Path, method: str) -> Path:
    return runs / "checkpoints" / method / "step000002.ckpt"


def _inputs() -> dict[str, torch.Tensor]:
    ids = torch.randint(3, 300, (2, 12), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, :4] = 0  # left padding in the second row
    return {"input_ids": ids, "attention_mask": mask}


def _module_logits(runs: Path, method: str) -> torch.Tensor:
    """Logits of the Lightning module built from the run's config with the checkpoint loaded."""
    from lightning_lora.checkpoints.reading import load_trainable_weights

    cli = build_cli(["--config", str(runs / "checkpoints" / method / "config.yaml"), "--trainer.logger", "false"], run=False)
    assert load_trainable_weights(cli.model, _ckpt(runs, method)) == 2
    cli.model.eval()
    with torch.no_grad():
        return cli.model(**_inputs()).logits


def _logits(model: torch.nn.Module) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(**_inputs()).logits


def _base_logits(base_path: str) -> torch.Tensor:
    from transformers import AutoModelForCausalLM

    return _logits(AutoModelForCausalLM.from_pretrained(base_path))


@pytest.mark.parametrize("method", ["lora", "dora", "ia3"])
def test_adapter_and_merged_exports_give_the_modules_logits(runs, tmp_path, method):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter, merged = tmp_path / "adapter", tmp_path / "merged"
    assert main(["export", "--ckpt_path", str(_ckpt(runs, method)), "--output", str(adapter)]) == 0
    assert main(["export", "--ckpt_path", str(_ckpt(runs, method)), "--output", str(merged), "--merge"]) == 0
    expected = _module_logits(runs, method)

    files = {p.name for p in adapter.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "export.json"} <= files
    record = json.loads((adapter / "export.json").read_text())
    assert (record["format"], record["method"], record["step"], record["base_model"]) == ("peft_adapter", method, 2, "tiny:qwen2")
    base_path = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert record["base_model_path"] == base_path and Path(base_path).is_dir()
    assert not torch.allclose(_base_logits(base_path), expected, atol=1e-3)  # training moved the model

    loaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_path), str(adapter))
    torch.testing.assert_close(_logits(loaded), expected, atol=1e-5, rtol=1e-5)

    assert not (merged / "adapter_config.json").exists() and json.loads((merged / "export.json").read_text())["merged"]
    torch.testing.assert_close(_logits(AutoModelForCausalLM.from_pretrained(merged)), expected, atol=1e-5, rtol=1e-5)
    assert AutoTokenizer.from_pretrained(merged).chat_template


@pytest.mark.parametrize("method", ["full", "bitfit"])
def test_full_and_bitfit_export_the_whole_model_and_need_merge(runs, tmp_path, capsys, method):
    from transformers import AutoModelForCausalLM

    assert main(["export", "--ckpt_path", str(_ckpt(runs, method)), "--output", str(tmp_path / "a")]) == 2
    assert _error(capsys) == (f"error: model.method {method!r} trains base weights, so there is no "
                                               "adapter to export; pass --merge to write the whole model.")
    assert not (tmp_path / "a").exists()
    assert main(["export", "--ckpt_path", str(_ckpt(runs, method)), "--output", str(tmp_path / "m"), "--merge"]) == 0
    expected = _module_logits(runs, method)
    torch.testing.assert_close(_logits(AutoModelForCausalLM.from_pretrained(tmp_path / "m")), expected, atol=1e-5, rtol=1e-5)


def test_classifier_exports_load_with_the_sequence_classification_class(tmp_path, tokenizer):
    """A classifier's head is saved with its adapter and kept when merging; the export names the right class."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, DistilBertConfig

    from lightning_lora.export.writer import export_module, merge_adapter_into_base
    from lightning_lora.models.methods import apply_method, method_metadata

    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, hidden_dim=64, n_layers=2, n_heads=2, num_labels=3)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(tmp_path / "base")
    model = apply_method(AutoModelForSequenceClassification.from_pretrained(tmp_path / "base"), "lora", task_type="SEQ_CLS")
    with torch.no_grad():  # stand-in for training: move every trainable weight
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    module = SimpleNamespace(method="lora", model=model, tokenizer=tokenizer, task_type="SEQ_CLS", load_dtype="float32",
                             model_name_or_path=str(tmp_path / "base"), checkpoint_metadata=lambda: method_metadata("lora", None))
    expected = _logits(model)
    record = export_module(module, tmp_path / "adapter", merge=False, info={"step": 7})
    assert record["load_with"].startswith("peft.PeftModel.from_pretrained(transformers.AutoModelForSequenceClassification")
    base = AutoModelForSequenceClassification.from_pretrained(tmp_path / "base")
    reloaded = PeftModel.from_pretrained(base, str(tmp_path / "adapter"))
    torch.testing.assert_close(_logits(reloaded), expected, atol=1e-5, rtol=1e-5)
    # The QLoRA route: merge into a freshly loaded, unquantised base (here fp32) instead of the live model.
    merged = merge_adapter_into_base(tmp_path / "adapter", AutoModelForSequenceClassification, str(tmp_path / "base"),
                                     torch.float32)
    torch.testing.assert_close(_logits(merged), expected, atol=1e-5, rtol=1e-5)
    export_module(module, tmp_path / "merged", merge=True)
    torch.testing.assert_close(_logits(AutoModelForSequenceClassification.from_pretrained(tmp_path / "merged")),
                               expected, atol=1e-5, rtol=1e-5)


def test_overwrite_replaces_only_a_previous_export(runs, tmp_path, capsys):
    ckpt = str(_ckpt(runs, "lora"))
    out = tmp_path / "out"
    assert main(["export", "--ckpt_path", ckpt, "--output", str(out)]) == 0
    capsys.readouterr()
    assert main(["export", "--ckpt_path", ckpt, "--output", str(out), "--merge"]) == 2
    assert _error(capsys) == f"error: --output {out} holds a previous export; pass --overwrite to replace it."
    assert main(["export", "--ckpt_path", ckpt, "--output", str(out), "--merge", "--overwrite"]) == 0
    assert (out / "model.safetensors").exists() and not (out / "adapter_config.json").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert main(["export", "--ckpt_path", ckpt, "--output", str(tmp_path / "mine"), "--overwrite"]) == 2
    assert "is not empty and holds no previous export" in _error(capsys)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_push_to_hub_offline_fails_in_one_line_after_a_complete_export(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    assert main(["export", "--ckpt_path", str(_ckpt(runs, "lora")), "--output", str(out), "--push_to_hub", "me/tiny-lora"]) == 2
    err = _error(capsys)
    assert err.startswith("error: --push_to_hub me/tiny-lora: upload failed (")
    assert f"the export in {out} is complete" in err and (out / "adapter_model.safetensors").exists()


def test_bad_inputs_are_one_line_with_exit_code_2(runs, tmp_path, capsys):
    ckpt = str(_ckpt(runs, "dora"))
    (tmp_path / "a_file").write_text("")
    lone = tmp_path / "lone" / "x.ckpt"
    lone.parent.mkdir()
    lone.write_bytes(_ckpt(runs, "dora").read_bytes())
    cases = [
        (["--ckpt_path", "nowhere.ckpt", "--output", "o"], "error: --ckpt_path nowhere.ckpt: no checkpoint there ("),
        (["--ckpt_path", ckpt, "--output", str(tmp_path / "a_file" / "out")],
         f"error: --output {tmp_path / 'a_file' / 'out'} cannot be written: {tmp_path / 'a_file'} is a file, not a folder."),
        (["--ckpt_path", ckpt, "--output", str(tmp_path / "o"), "--config", str(REPO / "configs" / "quickstart.yaml")],
         f"error: {ckpt}: The checkpoint was trained with model.method='dora', the config says 'lora'."),
        (["--ckpt_path", str(lone), "--output", str(tmp_path / "o")],
         f"error: --ckpt_path {lone}: no training config at {lone.parent / 'config.yaml'} (fit saves config.yaml "
         "beside its checkpoints; --config X.yaml names the one to use)."),
        (["--ckpt_path", ckpt], "error: export: "),
        (["--ckpt_path", ckpt, "--output", "o", "--merge_it"], "error: export: "),
    ]
    for args, message in cases:
        assert main(["export", *args]) == 2, args
        lines = capsys.readouterr().err.strip().splitlines()
        assert lines[-1].startswith(message), (args, lines)
        if "model.method='dora'" not in message:  # refused before any model is built: nothing else printed
            assert len(lines) == 1, lines
    assert not (tmp_path / "o").exists()


def test_a_classifier_checkpoint_exports_through_the_cli(in_tmp):
    """The classification quickstart's module: adapter and merged folders give its logits (head included)."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from lightning_lora.checkpoints.reading import load_trainable_weights

    config = ["--config", str(REPO / "configs" / "quickstart-classification.yaml"), "--trainer.enable_progress_bar", "false",
              "--trainer.enable_model_summary", "false", "--trainer.num_sanity_val_steps", "0"]
    build_cli(["fit", *config, "--run_name", "cls", "--trainer.max_steps", "2", "--checkpoint.every_n_train_steps", "2",
               "--data.batch_size", "8", "--model.optimizer.warmup_steps", "0"])
    ckpt = in_tmp / "checkpoints" / "cls" / "step000002.ckpt"
    assert main(["export", "--ckpt_path", str(ckpt), "--output", "adapter"]) == 0
    assert main(["export", "--ckpt_path", str(ckpt), "--output", "merged", "--merge"]) == 0
    cli = build_cli(["--config", str(ckpt.parent / "config.yaml"), "--trainer.logger", "false"], run=False)
    load_trainable_weights(cli.model, ckpt)
    cli.model.eval()
    with torch.no_grad():
        expected = cli.model(**_inputs())
    assert expected.shape == (2, 4)
    base_path = json.loads((in_tmp / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"]
    base = AutoModelForSequenceClassification.from_pretrained(base_path, num_labels=4)
    torch.testing.assert_close(_logits(PeftModel.from_pretrained(base, "adapter")), expected, atol=1e-5, rtol=1e-5)
    merged = AutoModelForSequenceClassification.from_pretrained(in_tmp / "merged")
    assert merged.config.id2label[1] == "Sports"
    torch.testing.assert_close(_logits(merged), expected, atol=1e-5, rtol=1e-5)


def test_an_adapter_that_cannot_merge_says_so(tmp_path, tiny_qwen2, tokenizer):
    from transformers import AutoModelForCausalLM

    from lightning_lora.export.writer import ExportError, export_module
    from lightning_lora.models.methods import apply_method

    model = apply_method(AutoModelForCausalLM.from_pretrained(tiny_qwen2), "peft",
                         peft_config={"peft_type": "PROMPT_TUNING", "num_virtual_tokens": 4})
    module = SimpleNamespace(method="peft", model=model, tokenizer=tokenizer, task_type="CAUSAL_LM")
    with pytest.raises(ExportError, match="^--merge: PROMPT_TUNING adapters cannot be merged into the base weights; "):
        export_module(module, tmp_path / "out", merge=True)
    assert not (tmp_path / "out").exists()

"""Weights that are not in the base model's files (heads, poolers) train and are saved: every load is the same model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main

REPO = Path(__file__).resolve().parents[1]
LABELS = ["World", "Sports", "Business", "Sci/Tech"]


def _tiny_bert(folder: Path, model_class: str, **config: object) -> Path:
    """A BERT-style encoder with the project's offline tokenizer; ``BertForMaskedLM`` is saved without a pooler."""
    import transformers

    from lightning_lora.models.tiny import build_tokenizer

    tokenizer = build_tokenizer()
    bert = transformers.BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=64, max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id,
                                   **config)
    torch.manual_seed(0)
    getattr(transformers, model_class)(bert).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def encoder_without_pooler(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_bert(tmp_path_factory.mktemp("bert") / "no-pooler", "BertForMaskedLM")


def test_the_loader_names_what_it_initialised(encoder_without_pooler, capsys):
    from lightning_lora.models.loading import load_sequence_classifier

    model = load_sequence_classifier(str(encoder_without_pooler), LABELS)
    assert model.newly_initialized_modules == ["bert.pooler.dense", "classifier"]
    assert "newly initialised: bert.pooler.dense, classifier" in capsys.readouterr().err


def test_a_classifier_base_with_another_number_of_labels_gets_a_new_head_and_says_so(tmp_path, capsys):
    from lightning_lora.models.loading import load_sequence_classifier

    folder = _tiny_bert(tmp_path / "two-labels", "BertForSequenceClassification", num_labels=2)
    model = load_sequence_classifier(str(folder), LABELS)
    assert model.config.num_labels == 4 and model.classifier.out_features == 4
    assert model.newly_initialized_modules == ["classifier"]
    assert "the saved classifier had another shape, e.g. another number of labels: replaced" in capsys.readouterr().err


def test_two_loads_of_a_checkpoint_and_both_exports_give_identical_logits(encoder_without_pooler, tmp_path, monkeypatch):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from lightning_lora.checkpoints.reading import load_trainable_weights
    from lightning_lora.export.writer import export_module
    from lightning_lora.training.cli import build_from_config

    monkeypatch.chdir(tmp_path)
    assert main(["fit", "--config", str(REPO / "configs" / "quickstart-classification.yaml"),
                 "--model.model_name_or_path", str(encoder_without_pooler), "--model.lora.target_modules", "null",
                 "--run_name", "bert", "--trainer.max_steps", "4", "--checkpoint.every_n_train_steps", "4",
                 "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]) == 0
    run = tmp_path / "checkpoints" / "bert"
    batch = {"input_ids": torch.tensor([[5, 17, 42, 9, 3], [7, 7, 81, 2, 1]]),
             "attention_mask": torch.ones(2, 5, dtype=torch.long)}

    def loaded(seed: int):
        torch.manual_seed(seed)  # what the loader draws for the pooler and head must not matter
        module = build_from_config(run / "config.yaml").model
        load_trainable_weights(module, run / "last.ckpt")
        return module.eval()

    first, second = loaded(0), loaded(1)
    with torch.no_grad():
        logits = first(**batch)
        assert torch.equal(logits, second(**batch))
    assert any("pooler" in key for key in torch.load(run / "last.ckpt", weights_only=True)["state_dict"])

    export_module(first, tmp_path / "adapter", merge=False)
    export_module(second, tmp_path / "merged", merge=True)
    torch.manual_seed(2)
    base = AutoModelForSequenceClassification.from_pretrained(str(encoder_without_pooler), num_labels=len(LABELS))
    adapter = PeftModel.from_pretrained(base, str(tmp_path / "adapter")).eval()
    merged = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "merged")).eval()
    with torch.no_grad():
        torch.testing.assert_close(adapter(**batch).logits, logits, rtol=0, atol=1e-5)
        torch.testing.assert_close(merged(**batch).logits, logits, rtol=0, atol=1e-5)

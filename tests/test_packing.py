"""Less padding, same loss: length-grouped batches, packed rows, logits only at target positions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lightning_lora.data.code import CodeSFTDataModule
from lightning_lora.data.collate import IGNORE_INDEX, first_fit_decreasing, pack_batch, pad_sequences
from lightning_lora.data.sampling import TrainingBatchSampler
from lightning_lora.data.sources import DataError
from lightning_lora.models.methods import LoraArgs
from lightning_lora.modules.causal_lm import CausalLMModule

REPO = Path(__file__).resolve().parents[1]

LENGTHS = [7, 19, 3, 12, 25, 5, 9]


def _rows(vocab: int, seed: int = 1) -> list[dict]:
    """Token rows with the first third of each masked out (a prompt)."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i, n in enumerate(LENGTHS):
        ids = torch.randint(5, vocab, (n,), generator=g).tolist()
        rows.append({"input_ids": ids, "labels": [IGNORE_INDEX] * (n // 3) + ids[n // 3:], "idx": i})
    return rows


def _padded(rows: list[dict], pad_id: int = 0) -> dict[str, torch.Tensor]:
    return {"input_ids": pad_sequences([r["input_ids"] for r in rows], pad_id),
            "attention_mask": pad_sequences([[1] * len(r["input_ids"]) for r in rows], 0),
            "labels": pad_sequences([r["labels"] for r in rows], IGNORE_INDEX)}


def _module(name: str, **kwargs) -> CausalLMModule:
    torch.manual_seed(0)
    module = CausalLMModule(name, lora=LoraArgs(r=4, lora_alpha=8, lora_dropout=0.0), **kwargs)
    with torch.no_grad():  # LoRA B starts at zero; make the adapters matter in the loss
        for n, p in module.model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    return module.eval()  # dropout off (gpt2 has it) so the paths can be compared exactly


@pytest.fixture(scope="module")
def untied_qwen2(tiny_qwen2: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tiny Qwen2 with a separate (untied) LM head, written as an ordinary model folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_qwen2)
    config = model.config
    config.tie_word_embeddings = False
    torch.manual_seed(1)
    untied = type(model)(config)
    untied.load_state_dict(model.state_dict(), strict=False)
    with torch.no_grad():
        untied.lm_head.weight.normal_(0, 0.5)
    assert untied.lm_head.weight.data_ptr() != untied.get_input_embeddings().weight.data_ptr()
    path = tmp_path_factory.mktemp("untied-qwen2")
    untied.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_qwen2).save_pretrained(path)
    return str(path)


# -- logits only at target positions ---------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["qwen2", "llama", "gpt2", "untied"])
def test_efficient_loss_equals_the_models_own_loss_and_gradients(arch, untied_qwen2):
    module = _module(untied_qwen2 if arch == "untied" else f"tiny:{arch}")
    assert module._head_and_body() is not None
    rows = _rows(module.model.get_base_model().config.vocab_size)
    batch = _padded(rows)
    reference = module.model(**batch).loss
    reference.backward()
    ref_grads = {n: p.grad.clone() for n, p in module.model.named_parameters() if p.requires_grad}
    module.model.zero_grad()
    loss, count = module._loss(batch)
    loss.backward()
    assert count == sum(sum(1 for label in r["labels"][1:] if label != IGNORE_INDEX) for r in rows)
    assert loss.item() == pytest.approx(reference.item(), abs=1e-5)
    lora = {n: p.grad for n, p in module.model.named_parameters() if "lora_" in n}
    assert lora and all(g is not None and g.abs().sum() > 0 for g in lora.values())
    for n, grad in lora.items():
        torch.testing.assert_close(grad, ref_grads[n], atol=1e-5, rtol=1e-4)


def test_model_types_outside_the_list_and_the_switch_use_the_models_loss(tiny_qwen2):
    assert _module("tiny:qwen2", efficient_loss=False).efficient_loss is False
    module = _module("tiny:qwen2")
    module.model.get_base_model().config.model_type = "gemma2"  # soft-capped logits: must not be bypassed
    assert module._head_and_body() is None
    batch = _padded(_rows(64))
    assert module._loss(batch)[0].item() == pytest.approx(module.model(**batch).loss.item(), abs=1e-6)


# -- packing ---------------------------------------------------------------------------------------------
def test_first_fit_decreasing_fills_bins_within_capacity():
    bins = first_fit_decreasing([5, 9, 2, 4, 8, 1], capacity=9)
    assert sorted(i for b in bins for i in b) == list(range(6))
    assert all(sum([5, 9, 2, 4, 8, 1][i] for i in b) <= 9 for b in bins)
    assert len(bins) == 4  # 9 | 8+1 | 5+4 | 2
    with pytest.raises(ValueError):
        first_fit_decreasing([10], capacity=9)


def test_packed_rows_restart_positions_and_never_predict_across_samples():
    rows = _rows(50)
    batch = pack_batch(rows, pad_id=0)
    assert "attention_mask" not in batch and batch["input_ids"].shape[1] == max(LENGTHS)
    assert batch["input_ids"].shape[0] < len(rows)
    assert int(batch["padding_mask"].sum()) == sum(LENGTHS)
    assert sorted(batch["idx"].tolist()) == list(range(len(rows)))
    starts = (batch["position_ids"] == 0) & (batch["padding_mask"] == 1)
    assert int(starts.sum()) == len(rows)
    assert (batch["labels"][starts] == IGNORE_INDEX).all()
    # Every target token of the unpacked rows is a target exactly once in the packed rows.
    unpacked_targets = sum(sum(1 for label in r["labels"][1:] if label != IGNORE_INDEX) for r in rows)
    assert int((batch["labels"][:, 1:] != IGNORE_INDEX).sum()) == unpacked_targets


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_a_packed_batch_gives_each_sample_its_unpacked_loss(attn):
    module = _module("tiny:qwen2", attn_implementation=attn)
    model = module.model
    rows = _rows(model.get_base_model().config.vocab_size)
    packed = pack_batch(rows, pad_id=0)
    assert packed["input_ids"].shape[0] < len(rows)
    with torch.no_grad():
        logits = model(input_ids=packed["input_ids"], position_ids=packed["position_ids"], use_cache=False).logits
        token_loss = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), packed["labels"][:, 1:],
                                                       reduction="none", ignore_index=IGNORE_INDEX)
        # Sample k of the packed batch: the tokens from its position-0 start up to the next start.
        seg = (packed["position_ids"] == 0).long().cumsum(1)[:, 1:]
        per_sample_packed = []
        for b in range(packed["input_ids"].shape[0]):
            for s in seg[b].unique():
                keep = (seg[b] == s) & (packed["labels"][b, 1:] != IGNORE_INDEX)
                if keep.any():
                    per_sample_packed.append(round(float(token_loss[b][keep].mean()), 4))
        per_sample = []
        for r in rows:
            ids, labels = torch.tensor([r["input_ids"]]), torch.tensor([r["labels"]])
            per_sample.append(float(model(input_ids=ids, labels=labels).loss))
        for loss in per_sample:
            assert min(abs(loss - p) for p in per_sample_packed) < 1e-4
        # The module's loss is the same token mean, packed or padded, efficient or not.
        padded = module._loss(_padded(rows))[0].item()
        assert module._loss(packed)[0].item() == pytest.approx(padded, abs=1e-5)
        module.efficient_loss = False
        assert module._loss(packed)[0].item() == pytest.approx(padded, abs=1e-5)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])  # rotary positions, and GPT-2's learned absolute ones
def test_packed_sample_losses_match_exactly_one_by_one(arch):
    """Sample by sample, in packing order: the logits inside the packed row equal the sample's alone."""
    module = _module(f"tiny:{arch}")
    model = module.model
    rows = _rows(model.get_base_model().config.vocab_size, seed=3)
    packed = pack_batch(rows, pad_id=0)
    order = packed["idx"].tolist()
    with torch.no_grad():
        logits = model(input_ids=packed["input_ids"], position_ids=packed["position_ids"], use_cache=False).logits
        k = 0
        for b in range(packed["input_ids"].shape[0]):
            offset = 0
            while k < len(order) and offset < packed["input_ids"].shape[1] and packed["padding_mask"][b, offset]:
                r = rows[order[k]]
                n = len(r["input_ids"])
                alone = model(input_ids=torch.tensor([r["input_ids"]]), use_cache=False).logits[0]
                torch.testing.assert_close(logits[b, offset:offset + n], alone, atol=1e-5, rtol=1e-5)
                offset += n
                k += 1
        assert k == len(rows)


# -- length grouping ---------------------------------------------------------------------------------------
def test_length_grouped_batches_are_deterministic_complete_and_uniform():
    lengths = [int(x) for x in torch.randint(1, 1000, (500,), generator=torch.Generator().manual_seed(0))]

    def batches(epoch: int, seed: int = 0) -> list[list[int]]:
        grouped = TrainingBatchSampler(500, batch_size=8, shuffle=True, seed=seed, lengths=lengths)
        grouped.set_epoch(epoch)
        return list(grouped)

    first = batches(0)
    assert first == batches(0) and first != batches(1) and first != batches(0, seed=1)
    assert sorted(i for b in first for i in b) == list(range(500))
    assert len(first) == len(batches(0)) == 63
    assert max(lengths[i] for i in first[0]) == max(lengths)  # the longest batch first: OOM shows at step 0
    padded = sum(8 * max(lengths[i] for i in b) for b in first)
    assert padded < 1.1 * sum(lengths)  # vs about 1.9x for random batches of 8 from uniform lengths


def _write(path: Path, n: int = 40) -> Path:
    rows = [{"input": f"Print {i}.", "solution": "print(1)\n" * (1 + i % 7), "output": ""} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_data_module_options_change_only_the_training_loader(tiny_qwen2, tmp_path):
    path = _write(tmp_path / "d.jsonl")
    dm = CodeSFTDataModule(path=str(path), tokenizer_name_or_path=str(tiny_qwen2), batch_size=8,
                           group_by_length=True, pack=True)
    dm.setup("fit")
    train = list(dm.train_dataloader())
    assert all("position_ids" in b and "attention_mask" not in b for b in train)
    assert sorted(i for b in train for i in b["idx"].tolist()) == sorted(dm.splits["train"]["idx"])
    assert [b["idx"].tolist() for b in train] == [b["idx"].tolist() for b in dm.train_dataloader()]
    val = next(iter(dm.val_dataloader()))
    assert "attention_mask" in val and "position_ids" not in val


def test_pack_is_refused_where_the_data_module_builds_its_own_batches(tiny_qwen2):
    from lightning_lora.data.qa import QADataModule

    with pytest.raises(DataError, match="data.pack is not supported by QADataModule"):
        QADataModule(path="synthetic:qa", tokenizer_name_or_path=str(tiny_qwen2), pack=True)


def test_pack_is_refused_where_packed_samples_would_see_each_other(tmp_path, tiny_qwen2, tokenizer, monkeypatch, capsys):
    from transformers import OPTConfig, OPTForCausalLM

    from lightning_lora.__main__ import main

    # OPT builds its causal mask without the position ids (transformers 5): packed samples would attend across.
    opt = tmp_path / "opt"
    config = OPTConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, ffn_dim=64, num_attention_heads=2,
                       max_position_embeddings=512, word_embed_proj_dim=32, pad_token_id=tokenizer.pad_token_id)
    OPTForCausalLM(config).save_pretrained(opt)
    tokenizer.save_pretrained(opt)
    monkeypatch.chdir(tmp_path)
    quick = ["fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.max_steps", "1",
             "--trainer.callbacks", "[]"]
    assert main([*quick, "--run_name", "opt", "--model.model_name_or_path", str(opt),
                 "--model.lora.target_modules", "[q_proj,v_proj]"]) == 2
    assert "error: data.pack: with model type 'opt'" in capsys.readouterr().err
    # Prompt tuning prepends virtual tokens and drops the position ids: refused on Qwen2 too.
    assert main([*quick, "--run_name", "prompt", "--model.method", "peft",
                 "--model.peft_config", "{peft_type: PROMPT_TUNING, num_virtual_tokens: 4}"]) == 2
    assert "model.method 'peft'" in capsys.readouterr().err
    # The same models without packing train.
    assert main([*quick, "--run_name", "opt-unpacked", "--model.model_name_or_path", str(opt),
                 "--model.lora.target_modules", "[q_proj,v_proj]", "--data.pack", "false"]) == 0
    assert not list((tmp_path / "checkpoints").glob("opt/*.ckpt"))


@pytest.mark.parametrize("arch", ["qwen2", "llama", "gpt2"])
def test_packing_leak_is_nil_where_attention_stays_within_samples(arch):
    from lightning_lora.data.packing import packing_leak
    from lightning_lora.models.loading import load_causal_lm
    from lightning_lora.models.tiny import ensure_tiny_model

    assert packing_leak(load_causal_lm(str(ensure_tiny_model(arch)), "float32", None), 768) < 1e-5


def test_a_sample_whose_only_target_is_its_first_token_is_dropped():
    data = CodeSFTDataModule(path="synthetic:code")
    assert not data.has_target({"input_ids": [5, 6], "labels": [5, IGNORE_INDEX]})  # nothing predicts token 0
    assert data.has_target({"input_ids": [5, 6], "labels": [IGNORE_INDEX, 6]})


def test_compile_compiles_the_body_in_place_and_keeps_parameter_names(tiny_qwen2):
    module = CausalLMModule(str(tiny_qwen2), lora=LoraArgs(r=2), compile=True)
    names = [n for n, _ in module.named_parameters()]
    module.setup("validate")  # compiles only for fit
    assert module.compiled_module()._compiled_call_impl is None
    module._trainer = type("T", (), {"datamodule": None, "world_size": 1})()
    module.setup("fit")
    body = module.compiled_module()
    assert body is not module.model and body._compiled_call_impl is not None
    assert [n for n, _ in module.named_parameters()] == names  # checkpoints keep their keys


@pytest.mark.parametrize(("arch", "kept_apart"), [("falcon", True), ("bloom", False), ("opt", False)])
def test_which_other_architectures_keep_packed_samples_apart(arch, kept_apart):
    """What README says about packing Falcon, Bloom and OPT, measured on tiny models of each (transformers 5)."""
    import transformers

    from lightning_lora.data.packing import packing_leak

    config = {"falcon": lambda: transformers.FalconConfig(vocab_size=128, hidden_size=32, num_hidden_layers=2,
                                                          num_attention_heads=4),
              "bloom": lambda: transformers.BloomConfig(vocab_size=128, hidden_size=32, n_layer=2, n_head=2),
              "opt": lambda: transformers.OPTConfig(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                                    ffn_dim=64, word_embed_proj_dim=32)}[arch]()
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    assert (packing_leak(model, 128) < 1e-5) == kept_apart

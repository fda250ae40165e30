"""GGUF exports (``export --format gguf`` / ``gguf-lora``): the file transformers reads back holds the merged export's
weights (f32 exactly; f16 / bf16 exactly as the merged weights rounded to that type) and generates what the merged
export generates; the adapter file holds the checkpoint's LoRA weights under llama.cpp's names, and
base + alpha/r * B @ A rebuilt from it is the merged model; every mistake is one ``error:`` line. Not checked here:
running the files in llama.cpp itself (it is not installed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.training.cli import build_cli

gguf = pytest.importorskip("gguf")

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false", "--trainer.callbacks", "[]", "--trainer.num_sanity_val_steps", "0",
         "--trainer.limit_val_batches", "1", "--model.optimizer.warmup_steps", "0"]
ARCHS = ("qwen2", "llama")
PROMPTS = ["Read two integers from one line and print their sum.", "Print the maximum of two integers a and b.",
           "Read n and print n squared.", "Read three integers and print their product."]
SYSTEM = "You are a helpful coding assistant."
TOKENS = 24
#: q8_0 rounds every weight to 8 bits per 32-value block: the share of greedy tokens (teacher-forced, per position) it
#: must still agree on with the float32 merged model. Measured when written: 1.0 on both tiny models (4 prompts x 24).
Q8_0_AGREEMENT = 0.9
TORCH_TYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, _isolated_cache: Path) -> Path:
    """LoRA runs of the tiny Qwen2 and Llama (60 steps at lr 0.01: they answer with code, varied by prompt, so equal
    answers mean something), and two IA3 steps (an adapter that is not LoRA)."""
    root = tmp_path_factory.mktemp("gguf_runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for arch in ARCHS:
            build_cli(["fit", *QUICK, "--run_name", arch, "--model.model_name_or_path", f"tiny:{arch}",
                       "--trainer.max_steps", "60", "--checkpoint.every_n_train_steps", "60", "--eval_every_n_steps",
                       "60", "--model.optimizer.lr", "0.01", "--data.batch_size", "8"])
        build_cli(["fit", *QUICK, "--run_name", "ia3", "--model.method", "ia3", "--trainer.max_steps", "2",
                   "--checkpoint.every_n_train_steps", "2", "--eval_every_n_steps", "2", "--data.batch_size", "4"])
    return root


def _run(runs: Path, arch: str) -> str:
    return str(runs / "checkpoints" / arch)  # a run folder: its best checkpoint


def _export(*args: str) -> None:
    assert main(["export", *args]) == 0, args


@pytest.fixture(scope="module")
def merged(runs: Path) -> dict[str, Path]:
    """The merged folder export of each run (the reference the GGUF file must equal)."""
    folders = {}
    for arch in ARCHS:
        folders[arch] = runs / "exports" / f"merged-{arch}"
        _export("--ckpt_path", _run(runs, arch), "--output", str(folders[arch]), "--merge")
    return folders


@pytest.fixture(scope="module")
def gguf_file(runs: Path) -> Callable[[str, str], Path]:
    """``gguf_file(arch, gguf_type)``: the run's GGUF export, written once per module."""
    written: dict[tuple[str, str], Path] = {}

    def get(arch: str, gguf_type: str) -> Path:
        if (arch, gguf_type) not in written:
            out = runs / "gguf" / f"{arch}-{gguf_type}.gguf"
            _export("--ckpt_path", _run(runs, arch), "--output", str(out), "--format", "gguf", "--gguf_type", gguf_type)
            written[arch, gguf_type] = out
        return written[arch, gguf_type]

    return get


def _fields(path: Path) -> dict[str, Any]:
    reader = gguf.GGUFReader(path)
    return {name: field.contents() for name, field in reader.fields.items() if not name.startswith("GGUF.")}


def _tensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a GGUF file as float32, in transformers' (row-major, out x in) order."""
    reader = gguf.GGUFReader(path)
    return {t.name: gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(tuple(reversed(t.shape)))
            for t in reader.tensors}


def _load_gguf(path: Path) -> tuple[Any, Any]:
    """Model and tokenizer as a transformers user loads them from the file."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    return model.eval(), tokenizer


def _load_merged(folder: Path, stored: str = "f32") -> tuple[Any, Any]:
    """The merged export, its matrices rounded to ``stored`` and back (as the GGUF file stores them; 1-D stay f32)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim >= 2:
                param.copy_(param.to(TORCH_TYPES[stored]).to(torch.float32))
    return model, AutoTokenizer.from_pretrained(folder)


def _prompt_ids(tokenizer: Any, system: str, prompt: str) -> dict[str, torch.Tensor]:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)


def _greedy(model: Any, tokenizer: Any, system: str, prompt: str) -> list[int]:
    """The answer's token ids, greedy, stopping at the tokenizer's EOS (the end-of-turn token)."""
    ids = _prompt_ids(tokenizer, system, prompt)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=TOKENS, do_sample=False, eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)
    return out[0, ids["input_ids"].shape[1]:].tolist()


@pytest.mark.parametrize("gguf_type", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("arch", ARCHS)
def test_transformers_reads_the_merged_model_back_and_it_generates_the_same(gguf_file, merged, arch, gguf_type):
    path = gguf_file(arch, gguf_type)
    model, tokenizer = _load_gguf(path)
    reference, reference_tokenizer = _load_merged(merged[arch], gguf_type)
    weights, expected = model.state_dict(), reference.state_dict()
    assert sorted(weights) == sorted(expected)
    assert all(torch.equal(weights[name], expected[name]) for name in expected)  # bit for bit
    system = _fields(path)["lightning_lora.system_prompt"]
    assert system == SYSTEM
    answers = [_greedy(model, tokenizer, system, p) for p in PROMPTS]
    assert answers == [_greedy(reference, reference_tokenizer, SYSTEM, p) for p in PROMPTS]
    assert len({tuple(a) for a in answers}) > 1 and len({t for a in answers for t in a}) > 3  # not one constant answer
    if gguf_type == "f32":  # the unrounded merged export itself, read as a user of the folder would
        assert json.loads((merged[arch] / "export.json").read_text())["prompt_format"]["system_prompt"] == system
        for p in PROMPTS:
            assert _prompt_ids(tokenizer, system, p)["input_ids"].tolist() == \
                _prompt_ids(reference_tokenizer, SYSTEM, p)["input_ids"].tolist()


@pytest.mark.parametrize("arch", ARCHS)
def test_the_file_holds_architecture_tokenizer_and_prompt_format(gguf_file, merged, arch):
    from transformers import AutoConfig, AutoTokenizer

    fields = _fields(gguf_file(arch, "f16"))
    config, tokenizer = AutoConfig.from_pretrained(merged[arch]), AutoTokenizer.from_pretrained(merged[arch])
    assert fields["general.architecture"] == arch and fields["general.type"] == "model"
    assert fields["general.file_type"] == gguf.LlamaFileType.MOSTLY_F16
    expected = {"context_length": config.max_position_embeddings, "embedding_length": config.hidden_size,
                "block_count": config.num_hidden_layers, "feed_forward_length": config.intermediate_size,
                "attention.head_count": config.num_attention_heads,
                "attention.head_count_kv": config.num_key_value_heads, "vocab_size": config.vocab_size,
                "rope.dimension_count": config.hidden_size // config.num_attention_heads}
    assert {key: fields[f"{arch}.{key}"] for key in expected} == expected
    assert fields[f"{arch}.rope.freq_base"] == pytest.approx(config.rope_parameters["rope_theta"])
    assert fields[f"{arch}.attention.layer_norm_rms_epsilon"] == pytest.approx(config.rms_norm_eps)
    assert fields["tokenizer.ggml.model"] == "gpt2"
    assert fields["tokenizer.ggml.pre"] == {"qwen2": "qwen2", "llama": "gpt-2"}[arch]  # the split each tokenizer uses
    tokens = fields["tokenizer.ggml.tokens"]
    assert len(tokens) == config.vocab_size and all(tokens[i] == t for t, i in tokenizer.get_vocab().items())
    types = fields["tokenizer.ggml.token_type"]
    specials = [tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")]
    assert [types[i] for i in specials] == [gguf.TokenType.CONTROL] * 3
    assert len(fields["tokenizer.ggml.merges"]) > 0
    assert fields["tokenizer.ggml.eos_token_id"] == tokenizer.eos_token_id  # <|im_end|>: the end of a turn
    assert fields["tokenizer.ggml.padding_token_id"] == tokenizer.pad_token_id
    assert "tokenizer.ggml.bos_token_id" not in fields and fields["tokenizer.ggml.add_bos_token"] is False
    assert fields["tokenizer.chat_template"] == tokenizer.chat_template
    assert fields["lightning_lora.system_prompt"] == SYSTEM and fields["lightning_lora.chat"] is True
    assert SYSTEM in fields["general.description"] and "lora" in fields["general.description"]
    assert "output.weight" not in _tensors(gguf_file(arch, "f16"))  # tied head: llama.cpp reads token_embd instead


def test_a_merged_export_folder_converts_to_the_same_tensors(runs, gguf_file, merged):
    out = runs / "gguf" / "from-folder.gguf"
    _export("--model", str(merged["qwen2"]), "--output", str(out), "--format", "gguf", "--gguf_type", "f32")
    from_folder, from_checkpoint = _tensors(out), _tensors(gguf_file("qwen2", "f32"))
    assert sorted(from_folder) == sorted(from_checkpoint)
    assert all(np.array_equal(from_folder[name], from_checkpoint[name]) for name in from_checkpoint)
    assert _fields(out)["lightning_lora.system_prompt"] == SYSTEM  # from the folder's export.json


@pytest.mark.parametrize("arch", ARCHS)
def test_q8_0_agrees_with_the_float32_merged_model_on_most_greedy_tokens(gguf_file, merged, arch):
    """Teacher-forced: at each position of the float32 model's greedy answer, does the q8_0 model pick that token."""
    path = gguf_file(arch, "q8_0")
    stored = {t.name: t.tensor_type.name for t in gguf.GGUFReader(path).tensors}
    assert stored["blk.0.ffn_down.weight"] == "Q8_0" and stored["blk.0.attn_norm.weight"] == "F32"
    model, tokenizer = _load_gguf(path)
    reference, _ = _load_merged(merged[arch])
    same = total = 0
    for p in PROMPTS:
        ids = _prompt_ids(tokenizer, SYSTEM, p)["input_ids"]
        with torch.no_grad():
            answer = reference.generate(ids, max_new_tokens=TOKENS, min_new_tokens=TOKENS, do_sample=False,
                                        eos_token_id=None, pad_token_id=tokenizer.pad_token_id)
            picked = model(answer).logits[0, ids.shape[1] - 1:-1].argmax(-1)
        same += int((picked == answer[0, ids.shape[1]:]).sum())
        total += TOKENS
    assert same / total >= Q8_0_AGREEMENT, f"q8_0 agreed on {same}/{total} greedy tokens"


@pytest.mark.parametrize("arch", ARCHS)
def test_the_lora_adapter_file_holds_the_checkpoints_adapter_under_llama_cpp_names(runs, merged, tmp_path, arch):
    from lightning_lora.export.gguf import rotary_rows, write_gguf
    from lightning_lora.models.loading import load_causal_lm, load_tokenizer
    from lightning_lora.training.restore import restore

    adapter = tmp_path / f"{arch}-lora.gguf"
    _export("--ckpt_path", _run(runs, arch), "--output", str(adapter), "--format", "gguf-lora")
    fields, tensors = _fields(adapter), _tensors(adapter)
    assert fields["general.type"] == "adapter" and fields["adapter.type"] == "lora"
    assert fields["general.architecture"] == arch and fields["adapter.lora.alpha"] == 32.0  # quickstart: lora_alpha 32
    assert {t.tensor_type.name for t in gguf.GGUFReader(adapter).tensors} == {"F32"}

    # the base as llama.cpp would have it (this exporter's GGUF of the base model, f32): every adapted name is in it
    base_file = tmp_path / f"{arch}-base.gguf"
    base_source = json.loads((merged[arch] / "export.json").read_text())["base_model_path"]
    write_gguf(load_causal_lm(base_source), load_tokenizer(base_source), base_file, "f32")
    base = _tensors(base_file)
    adapted = sorted({name.rsplit(".", 1)[0] for name in tensors})
    assert len(adapted) == 2 * 7 and all(name in base for name in adapted)  # 7 projections x 2 layers
    assert set(tensors) == {f"{name}.lora_{ab}" for name in adapted for ab in "ab"}

    # values and shapes: PEFT's lora_A [r, in] and lora_B [out, r] as stored (Llama's q/k rows as its base's are)
    restored = restore(_run(runs, arch), None, command="export")
    config = restored.module.model.get_base_model().config
    for hf_name, module in restored.module.model.get_base_model().named_modules():
        if not hasattr(module, "lora_A"):
            continue
        layer, kind = hf_name.split(".")[2], {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v",
                                              "o_proj": "attn_output", "gate_proj": "ffn_gate", "up_proj": "ffn_up",
                                              "down_proj": "ffn_down"}[hf_name.rsplit(".", 1)[1]]
        name = f"blk.{layer}.{kind}.weight"
        a, b = module.lora_A["default"].weight.detach().numpy(), module.lora_B["default"].weight.detach().numpy()
        if arch == "llama" and kind in ("attn_q", "attn_k"):
            b = rotary_rows(b, config.num_attention_heads if kind == "attn_q" else config.num_key_value_heads)
        lora_a, lora_b = tensors[f"{name}.lora_a"], tensors[f"{name}.lora_b"]
        assert lora_a.shape == (16, base[name].shape[1]) and np.array_equal(lora_a, a)  # quickstart: r 16
        assert lora_b.shape == (base[name].shape[0], 16) and np.array_equal(lora_b, b)

    # base + alpha / r * B @ A, rebuilt from the two GGUF files alone, is the merged model's GGUF
    merged_file = tmp_path / f"{arch}-merged.gguf"
    _export("--model", str(merged[arch]), "--output", str(merged_file), "--format", "gguf", "--gguf_type", "f32")
    expected = _tensors(merged_file)
    assert sorted(expected) == sorted(base)
    for name, weight in base.items():
        if name in adapted:
            a, b = torch.from_numpy(tensors[f"{name}.lora_a"]), torch.from_numpy(tensors[f"{name}.lora_b"])
            rebuilt = torch.from_numpy(weight) + (b @ a) * (fields["adapter.lora.alpha"] / a.shape[0])
            torch.testing.assert_close(rebuilt, torch.from_numpy(expected[name]), rtol=0, atol=1e-6)
            assert not np.array_equal(weight, expected[name])  # the adapter moved it
        else:
            assert np.array_equal(weight, expected[name])


def _error(capsys: pytest.CaptureFixture, *args: str) -> str:
    capsys.readouterr()
    assert main(["export", *args]) == 2, args
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and not any("Traceback" in line for line in lines)
    return lines[-1]


def test_mistakes_are_one_line(runs, merged, gguf_file, tmp_path, capsys, monkeypatch):
    from lightning_lora.models.tiny import ensure_tiny_model

    ckpt, out = _run(runs, "qwen2"), tmp_path / "m.gguf"
    assert _error(capsys, "--ckpt_path", ckpt, "--output", str(out), "--format", "ggml") == (
        "error: --format 'ggml' is not one of folder, gguf, gguf-lora.")
    assert _error(capsys, "--ckpt_path", ckpt, "--output", str(out), "--format", "gguf", "--gguf_type", "q4_k") == (
        "error: --gguf_type 'q4_k' is not one of f16, bf16, f32, q8_0.")
    assert _error(capsys, "--ckpt_path", ckpt, "--output", str(tmp_path / "d"), "--gguf_type", "f16") == (
        "error: --gguf_type goes with --format gguf or gguf-lora.")
    assert _error(capsys, "--ckpt_path", ckpt, "--output", str(tmp_path / "m"), "--format", "gguf") == (
        f"error: --output {tmp_path / 'm'}: a GGUF export is one file; give a path ending in .gguf "
        "(e.g. exported/model.gguf).")
    existing = gguf_file("qwen2", "f16")
    assert _error(capsys, "--ckpt_path", ckpt, "--output", str(existing), "--format", "gguf") == (
        f"error: --output {existing} holds a previous GGUF export; pass --overwrite to replace it.")
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("my notes")
    assert _error(capsys, "--ckpt_path", ckpt, "--output", str(not_gguf), "--format", "gguf", "--overwrite") == (
        f"error: --output {not_gguf} exists and is not a GGUF file; choose a new path.")
    assert not_gguf.read_text() == "my notes"
    assert _error(capsys, "--ckpt_path", ckpt, "--output", str(out), "--format", "gguf", "--push_to_hub", "me/m") == (
        f"error: --push_to_hub uploads folder exports; upload the .gguf file with `hf upload me/m {out}`.")
    assert _error(capsys, "--ckpt_path", ckpt, "--output", str(out), "--format", "gguf-lora", "--merge") == (
        "error: --merge and --format gguf-lora exclude each other: gguf-lora writes the adapter alone, --format gguf "
        "the merged model.")
    assert _error(capsys, "--ckpt_path", _run(runs, "ia3"), "--output", str(out), "--format", "gguf-lora") == (
        "error: --format gguf-lora exports a LoRA adapter, but model.method 'ia3' has none; use --format gguf for the "
        "whole model.")
    assert _error(capsys, "--model", str(merged["qwen2"]), "--output", str(out), "--format", "gguf-lora") == (
        "error: --format gguf-lora exports a LoRA adapter; this model has no adapter. Use --format gguf for the whole "
        "model.")
    gpt2 = ensure_tiny_model("gpt2")
    assert _error(capsys, "--model", str(gpt2), "--output", str(out), "--format", "gguf") == (
        "error: --format gguf: architecture 'gpt2' is not written by this exporter (it writes qwen2, llama).")
    monkeypatch.delattr(gguf.quants, "quantize")
    line = _error(capsys, "--ckpt_path", ckpt, "--output", str(out), "--format", "gguf", "--gguf_type", "q8_0")
    assert line.startswith("error: --gguf_type q8_0: the gguf package (") and "has no gguf.quants.quantize" in line
    assert not out.exists()


def test_replacing_a_previous_gguf_export_needs_overwrite(runs, tmp_path):
    out = tmp_path / "adapter.gguf"
    _export("--ckpt_path", _run(runs, "qwen2"), "--output", str(out), "--format", "gguf-lora", "--gguf_type", "f16")
    assert {t.tensor_type.name for t in gguf.GGUFReader(out).tensors} == {"F16"}
    _export("--ckpt_path", _run(runs, "qwen2"), "--output", str(out), "--format", "gguf-lora", "--overwrite")
    assert {t.tensor_type.name for t in gguf.GGUFReader(out).tensors} == {"F32"}
    assert [p.name for p in tmp_path.iterdir()] == ["adapter.gguf"]  # no temporary file left beside it


@pytest.mark.parametrize("method", ["full", "bitfit", "dora", "ia3"])
def test_gguf_lora_refuses_methods_without_a_lora_adapter_before_building(method):
    from lightning_lora.export.gguf import GGUFExportError, check_lora_method

    with pytest.raises(GGUFExportError, match=f"model.method '{method}' has none"):
        check_lora_method(method)
    check_lora_method("lora")


def test_per_layer_scaling_is_folded_into_b_so_the_update_is_the_same(tiny_qwen2, tmp_path):
    """rsLoRA (alpha / sqrt(r)) and a rank pattern: llama.cpp has one alpha per file and divides by each pair's r."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from lightning_lora.export.gguf import write_gguf_lora

    config = LoraConfig(r=4, lora_alpha=8, use_rslora=True, rank_pattern={"q_proj": 2},
                        target_modules=["q_proj", "v_proj"])
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_qwen2), config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(generator=torch.Generator().manual_seed(len(name)))
    adapter = tmp_path / "rslora.gguf"
    write_gguf_lora(model, adapter)
    alpha, tensors = _fields(adapter)["adapter.lora.alpha"], _tensors(adapter)
    for layer in range(2):
        for hf, name in (("q_proj", "attn_q"), ("v_proj", "attn_v")):
            module = getattr(model.get_base_model().model.layers[layer].self_attn, hf)
            a, b = (torch.from_numpy(tensors[f"blk.{layer}.{name}.weight.lora_{ab}"]) for ab in "ab")
            expected = module.get_delta_weight("default")
            torch.testing.assert_close((b @ a) * (alpha / a.shape[0]), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.filterwarnings("ignore:Model has `tie_word_embeddings=True`:UserWarning")  # PEFT, on the tied embedding
def test_an_adapted_embedding_is_refused_in_one_line(tiny_qwen2, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from lightning_lora.export.gguf import GGUFExportError, write_gguf_lora

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_qwen2),
                           LoraConfig(r=2, target_modules=["embed_tokens", "q_proj"]))
    with pytest.raises(GGUFExportError, match=r"^--format gguf-lora: model.embed_tokens \(Embedding\) is adapted, but "
                                              r"only linear layers are written"):
        write_gguf_lora(model, tmp_path / "a.gguf")
    assert not (tmp_path / "a.gguf").exists()

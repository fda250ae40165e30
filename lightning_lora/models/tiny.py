"""Tiny random-init models saved to disk, for the offline quickstart and the tests.

A tiny model is written once as an ordinary Hugging Face model directory (config, weights and a
byte-level BPE tokenizer trained on the synthetic corpus, with a ChatML chat template) and then
loaded back by path through exactly the code a user's hub model goes through. Nothing is downloaded.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch

from lightning_lora.errors import UserError
from lightning_lora.files import default_cache_dir
from lightning_lora.problems.synthetic import tokenizer_corpus

#: Bump when the recipe below changes so stale cached directories are not reused.
TINY_VERSION = 8
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
ARCHITECTURES = ("qwen2", "llama", "gpt2", "distilbert")
ENCODERS = ("distilbert",)
EMBEDDING_SCALE = 12.0


def build_tokenizer(vocab_size: int = 768):
    """A byte-level BPE tokenizer trained on the synthetic corpus: any text encodes, none is downloaded."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(tokenizer_corpus() * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_config(arch: str, vocab_size: int, eos_id: int, pad_id: int):
    """Config of a 2-layer, 64-wide model of the given architecture."""
    from transformers import DistilBertConfig, GPT2Config, LlamaConfig, Qwen2Config

    common = dict(vocab_size=vocab_size, eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=eos_id)
    if arch == "qwen2":
        return Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, max_position_embeddings=1024, tie_word_embeddings=True, **common)
    if arch == "llama":
        return LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, max_position_embeddings=1024, tie_word_embeddings=True, **common)
    if arch == "gpt2":
        return GPT2Config(n_embd=64, n_layer=2, n_head=4, n_positions=1024, **common)
    if arch == "distilbert":
        return DistilBertConfig(vocab_size=vocab_size, dim=64, hidden_dim=128, n_layers=2, n_heads=4,
                                max_position_embeddings=1024, pad_token_id=pad_id)
    raise UserError(f"Unknown tiny architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}.")


def ensure_tiny_model(arch: str = "qwen2", cache_dir: str | Path | None = None, seed: int = 0) -> Path:
    """Build (once) and return the directory of a tiny causal LM with its tokenizer.

    The directory is written to a temporary sibling and renamed into place, so concurrent
    processes (DDP ranks, parallel tests) never see a half-written model.
    """
    from transformers import AutoModel, AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    if arch not in ARCHITECTURES:
        raise UserError(f"Unknown tiny architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}.")
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = root / f"tiny-{arch}-v{TINY_VERSION}-seed{seed}"
    if (target / "config.json").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a 400 KB model needs no progress bar
    try:
        tokenizer = build_tokenizer()
        config = build_config(arch, len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id)
        with torch.random.fork_rng(devices=[]):  # the caller's random stream is the same whether or not the model is cached
            torch.manual_seed(seed)
            if arch in ENCODERS:  # a bare encoder: task heads are added when it is loaded for a task
                model = AutoModel.from_config(config)
            else:
                model = AutoModelForCausalLM.from_config(config)
                with torch.no_grad():
                    # A frozen tied head with the default init (std 0.02) caps logits near +-1.3, so no
                    # adapter could make the output peaked; a pretrained head has no such cap.
                    model.get_input_embeddings().weight.mul_(EMBEDDING_SCALE)
                model.generation_config.pad_token_id = tokenizer.pad_token_id
                model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(target)
        except OSError:  # another process won the race; its copy is identical
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if bars:
            hf_logging.enable_progress_bar()
    return target


def resolve_tiny_spec(name_or_path: str) -> str:
    """Turn ``tiny:<arch>`` into the path of a built tiny model; any other string is returned unchanged."""
    if name_or_path.startswith("tiny:"):
        return str(ensure_tiny_model(name_or_path.split(":", 1)[1]))
    return name_or_path

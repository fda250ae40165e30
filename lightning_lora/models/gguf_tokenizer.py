"""A Hugging Face tokenizer as GGUF metadata: the ``tokenizer.ggml.*`` keys llama.cpp and transformers read.

Only byte-level BPE tokenizers are written (``tokenizer.ggml.model = "gpt2"``: Qwen2's, Llama 3's, GPT-2's): the
vocabulary in id order, each token's type, the merges, the special ids, whether a BOS is added, and the chat
template. Which pre-tokenizer the vocabulary was learned with is a name in GGUF (``tokenizer.ggml.pre``); it is
found by the split pattern the tokenizer really uses, from the table transformers reads GGUF files with, so a
file read back splits text as the tokenizer it came from. Used by :mod:`lightning_lora.models.gguf_writer`.
"""

from __future__ import annotations

import json
from typing import Any

from lightning_lora.errors import UserError

#: The GGUF name of a byte-level tokenizer that splits with GPT-2's own pattern (ByteLevel with ``use_regex``).
GPT2_PRE = "gpt-2"


class GGUFTokenizerError(UserError):
    """The tokenizer cannot be written as GGUF metadata."""


def backend_json(tokenizer: Any) -> dict[str, Any]:
    """The fast tokenizer's ``tokenizer.json`` content (a slow tokenizer has none: one line)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise GGUFTokenizerError(f"--format gguf: the tokenizer ({type(tokenizer).__name__}) has no tokenizer.json "
                                 "(not a fast tokenizer); only byte-level BPE tokenizers are written.")
    return json.loads(backend.to_str())


def _split_names() -> dict[str, str]:
    """Split pattern -> the ``tokenizer.ggml.pre`` name transformers maps back to it (the first name wins)."""
    try:
        from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS
    except ImportError as err:  # transformers < 5 keeps no such table
        raise GGUFTokenizerError("--format gguf needs transformers 5 (its GGUF tokenizer table); "
                                 "pip install -U transformers.") from err
    names: dict[str, str] = {}
    for name, pattern in GGUF_PRE_TOKENIZER_SPLITS.items():
        names.setdefault(pattern, name)
    return names


def pre_tokenizer_name(content: dict[str, Any]) -> str:
    """``tokenizer.ggml.pre`` for a byte-level BPE tokenizer.json; one line for any other tokenizer."""
    model, pre = content.get("model") or {}, content.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    if model.get("type") != "BPE" or not steps or steps[-1].get("type") != "ByteLevel":
        what = f"a {model.get('type') or 'unknown'} model with a {pre.get('type') or 'missing'} pre-tokenizer"
        raise GGUFTokenizerError(f"--format gguf writes byte-level BPE tokenizers (Qwen2, Llama 3, GPT-2 style); this "
                                 f"tokenizer is {what}.")
    if len(steps) == 1 and steps[0].get("use_regex", True):
        return GPT2_PRE
    if len(steps) == 2 and steps[0].get("type") == "Split" and not steps[1].get("use_regex", True):
        pattern = (steps[0].get("pattern") or {}).get("Regex")
        name = _split_names().get(pattern)
        if name is not None:
            return name
    raise GGUFTokenizerError("--format gguf: the tokenizer splits text with a pattern that has no GGUF pre-tokenizer "
                             "name (known: Qwen2, Llama 3, GPT-2 and the others transformers reads), so a GGUF reader "
                             "would split text otherwise.")


def vocabulary(tokenizer: Any, vocab_size: int) -> tuple[list[str], list[int]]:
    """Every id's token and ``gguf.TokenType``, ``vocab_size`` long: an added token is CONTROL when special, else
    USER_DEFINED; ids no token has (the embedding has more rows than the tokenizer tokens) are UNUSED ``[PADn]``."""
    from gguf import TokenType

    tokens: list[str | None] = [None] * vocab_size
    for token, index in tokenizer.get_vocab().items():
        if index >= vocab_size:
            raise GGUFTokenizerError(f"--format gguf: token {token!r} has id {index}, but the model's embedding has "
                                     f"{vocab_size} rows; the tokenizer and the model do not match.")
        tokens[index] = token
    added = dict(tokenizer.added_tokens_decoder)
    types = []
    for index, token in enumerate(tokens):
        if token is None:
            types.append(TokenType.UNUSED)
        elif index in added:
            types.append(TokenType.CONTROL if added[index].special else TokenType.USER_DEFINED)
        else:
            types.append(TokenType.NORMAL)
    return [token if token is not None else f"[PAD{index}]" for index, token in enumerate(tokens)], types


def merges(content: dict[str, Any]) -> list[str]:
    """The BPE merges as GGUF stores them, ``"a b"`` (tokenizers writes pairs as lists since 0.20)."""
    return [" ".join(pair) if isinstance(pair, list) else pair for pair in content["model"].get("merges", [])]


def adds_token(tokenizer: Any, token_id: int | None, first: bool) -> bool:
    """Whether encoding text adds ``token_id`` at its start (``first``) or end, as the tokenizer really does."""
    if token_id is None:
        return False
    ids = tokenizer("a")["input_ids"]
    return bool(ids) and ids[0 if first else -1] == token_id


def add_tokenizer(writer: Any, tokenizer: Any, vocab_size: int) -> None:
    """Write ``tokenizer`` into the GGUF ``writer``: vocabulary, types, merges, special ids, chat template."""
    content = backend_json(tokenizer)
    pre = pre_tokenizer_name(content)
    tokens, types = vocabulary(tokenizer, vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges(content))
    for token_id, add in ((tokenizer.bos_token_id, writer.add_bos_token_id),
                          (tokenizer.eos_token_id, writer.add_eos_token_id),
                          (tokenizer.pad_token_id, writer.add_pad_token_id)):
        if token_id is not None:
            add(token_id)
    # Written either way: llama.cpp otherwise assumes a BOS for some pre-tokenizers (Llama 3's).
    writer.add_add_bos_token(adds_token(tokenizer, tokenizer.bos_token_id, first=True))
    writer.add_add_eos_token(adds_token(tokenizer, tokenizer.eos_token_id, first=False))
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, str) and template:
        writer.add_chat_template(template)

"""Prompt in, text out, with the prompt format training used: one path for ``generate``, ``chat``, ``predict``
and the code benchmark.

Pure PyTorch + transformers (no Lightning). The prompt text comes from :mod:`lightning_lora.inference.prompting`;
decoding settings become one ``GenerationConfig`` (:func:`generation_config`), the same one an export
writes as ``generation_config.json``, so an exported model decodes as ``generate`` does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from tqdm import tqdm

from lightning_lora.errors import UserError
from lightning_lora.inference.prompting import build_prompt, has_chat_template
from lightning_lora.models.loading import weights_dtype

#: Default answer budget of ``generate`` and ``chat`` (tokens).
DEFAULT_MAX_NEW_TOKENS = 256


@dataclass
class GenerationOptions:
    """How to decode.

    Args:
        max_new_tokens: most tokens generated per answer.
        temperature: 0 decodes greedily (the default: the same answer every time); above 0 samples.
        top_p: nucleus sampling mass (sampling only).
        stop: strings that end an answer (the answer is cut before them).
        seed: random seed for sampling.
    """

    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    temperature: float = 0.0
    top_p: float = 1.0
    stop: Sequence[str] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise UserError(f"--max_new_tokens must be at least 1, got {self.max_new_tokens}.")
        if self.temperature < 0:
            raise UserError(f"--temperature must be >= 0 (0 is greedy), got {self.temperature}.")
        if not 0 < self.top_p <= 1:
            raise UserError(f"--top_p must be in (0, 1], got {self.top_p}.")
        self.stop = tuple(s for s in self.stop if s)


@dataclass
class PromptFormat:
    """How training turned a message into model input.

    Args:
        system_prompt: the system message training used (None: none).
        chat: render through the tokenizer's chat template (plain ``PLAIN_PROMPT_FORMAT`` when it has none);
            False feeds the text as it is (models trained on bare solutions, ``data.mode: solution``).
    """

    system_prompt: str | None = None
    chat: bool = True

    def render(self, tokenizer: Any, message: str) -> str:
        """The text the model sees before its answer to ``message``."""
        return build_prompt(tokenizer, message, self.system_prompt) if self.chat else message


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` at the earliest occurrence of any stop string."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i != -1), default=len(text))
    return text[:cut]


def eos_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every token that ends an answer: the model's generation config's EOS ids and the tokenizer's EOS
    (a chat model's end-of-turn token is often only the latter)."""
    config = getattr(model, "generation_config", None)
    found = getattr(config, "eos_token_id", None) if config is not None else None
    ids = list(found) if isinstance(found, (list, tuple)) else ([found] if found is not None else [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def generation_config(model: Any, tokenizer: Any, options: GenerationOptions | None = None) -> Any:
    """The ``transformers.GenerationConfig`` of these options: EOS / pad ids, greedy or sampling, budget.

    An export writes exactly this as ``generation_config.json``.
    """
    from transformers import GenerationConfig

    options = options or GenerationOptions()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    settings: dict[str, Any] = {"eos_token_id": eos_token_ids(model, tokenizer), "pad_token_id": pad,
                                "max_new_tokens": options.max_new_tokens, "do_sample": options.temperature > 0,
                                "use_cache": True}
    if options.temperature > 0:
        settings.update(temperature=options.temperature, top_p=options.top_p)
    bos = getattr(getattr(model, "generation_config", None), "bos_token_id", None)
    if bos is not None:
        settings["bos_token_id"] = bos
    return GenerationConfig(**settings)


def context_length(model: Any) -> int | None:
    """The most positions the model attends over (None when its config does not say)."""
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def check_fits(model: Any, prompt_tokens: int, what: str = "The prompt") -> int | None:
    """Refuse a prompt that leaves no room for an answer; return how many tokens the answer may take."""
    limit = context_length(model)
    if limit is None:
        return None
    if prompt_tokens >= limit:
        raise UserError(f"{what} is {prompt_tokens} tokens with the prompt format, but the model's context is "
                        f"{limit} tokens; shorten it.")
    return limit - prompt_tokens


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


def _generate_kwargs(model: Any, tokenizer: Any, options: GenerationOptions, room: int | None) -> dict[str, Any]:
    config = generation_config(model, tokenizer, options)
    if room is not None and config.max_new_tokens > room:
        config.max_new_tokens = room
    kwargs: dict[str, Any] = {"generation_config": config}
    if options.stop:  # in the config (beside it is deprecated); generate needs the tokenizer to match them
        config.stop_strings = list(options.stop)
        kwargs["tokenizer"] = tokenizer
    return kwargs


class StopAwareWriter:
    """Hands an answer's text to ``write`` as it grows, holding back what might start a stop string and dropping
    everything from a stop string on: what is written is the answer cut at its first stop string."""

    def __init__(self, write: Callable[[str], None], stop: Sequence[str]) -> None:
        self.write, self.stop = write, tuple(stop)
        self.hold = max((len(s) for s in self.stop), default=1) - 1
        self.text, self.sent, self.stopped = "", 0, False

    def take(self, text: str, end: bool = False) -> None:
        """The next piece of the answer (``end``: the last one)."""
        if self.stopped:
            return
        self.text += text
        cut = truncate_at_stop(self.text, self.stop)
        if len(cut) < len(self.text):
            self.stopped, self.text, safe = True, cut, len(cut)
        else:
            safe = len(self.text) if end else max(self.sent, len(self.text) - self.hold)
        if safe > self.sent:
            self.write(self.text[self.sent:safe])
            self.sent = safe

    def flush(self) -> str:
        """Write what was held back; the whole answer so far."""
        if self.sent < len(self.text):
            self.write(self.text[self.sent:])
            self.sent = len(self.text)
        return self.text


class _StopAwareStreamer(StopAwareWriter):
    """A :class:`StopAwareWriter` fed by a ``TextStreamer`` (``.streamer``) that ``generate`` hands its tokens to."""

    def __init__(self, tokenizer: Any, write: Callable[[str], None], stop: Sequence[str]) -> None:
        from transformers import TextStreamer

        super().__init__(write, stop)
        outer = self

        class Streamer(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                outer.take(text, stream_end)

        self.streamer = Streamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


@torch.inference_mode()
def generate_text(model: Any, tokenizer: Any, prompt_text: str, options: GenerationOptions | None = None,
                  write: Callable[[str], None] | None = None, what: str = "The prompt") -> str:
    """The answer to one rendered prompt; with ``write``, its text is handed over piece by piece as it comes.

    A ``KeyboardInterrupt`` during generation propagates after the text so far has been written; the
    model's train/eval mode is restored either way.
    """
    options = options or GenerationOptions()
    enc = tokenizer(prompt_text, return_tensors="pt", add_special_tokens=not has_chat_template(tokenizer))
    room = check_fits(model, enc["input_ids"].shape[1], what)
    kwargs = _generate_kwargs(model, tokenizer, options, room)
    streamer = _StopAwareStreamer(tokenizer, write, options.stop) if write is not None else None
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[_device(model)] if _device(model).type == "cuda" else []):
            torch.manual_seed(options.seed)
            out = model.generate(**enc.to(_device(model)), **kwargs,
                                 **({"streamer": streamer.streamer} if streamer else {}))
    finally:
        model.train(was_training)
        if streamer is not None:
            streamer.flush()
    text = tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return truncate_at_stop(text, options.stop)


@torch.inference_mode()
def generate_from_ids(model: Any, tokenizer: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                      options: GenerationOptions | None = None, engine: str = "generate") -> list[str]:
    """Answers to a batch of already tokenized, left-padded prompts (the ``predict`` loop's batches)."""
    options = options or GenerationOptions()
    if engine == "refill":
        prompts = [ids[mask.bool()].tolist() for ids, mask in zip(input_ids.cpu(), attention_mask.cpu())]
        return [a.text for a in refilled_answers(model, tokenizer, prompts, options, batch_size=len(prompts))]
    out = model.generate(input_ids=input_ids, attention_mask=attention_mask,
                         **_generate_kwargs(model, tokenizer, options, None))
    texts = tokenizer.batch_decode(out[:, input_ids.shape[1]:], skip_special_tokens=True)
    return [truncate_at_stop(text, options.stop) for text in texts]


#: Why an answer ended: a stop string, an end-of-sequence token, or the token budget (a cut answer).
FINISH_REASONS = ("stop", "eos", "length")


@dataclass
class Answer:
    """One generated answer and why it ended (``finish_reason``: one of :data:`FINISH_REASONS`)."""

    text: str
    finish_reason: str

    @property
    def truncated(self) -> bool:
        """True when the budget (``max_new_tokens`` or the context) cut the answer."""
        return self.finish_reason == "length"


def finish_reason(text: str, token_ids: Sequence[int], eos_ids: Sequence[int], stop: Sequence[str]) -> str:
    """Why an answer ended: ``stop`` when a stop string occurs in ``text``, ``eos`` when an end-of-sequence id is among
    the generated ``token_ids``, else ``length`` (the generation ran out of budget)."""
    if any(s and s in text for s in stop):
        return "stop"
    if set(token_ids) & set(eos_ids):
        return "eos"
    return "length"


@torch.inference_mode()
def generate_batch(model: Any, tokenizer: Any, prompt_texts: Sequence[str], options: GenerationOptions | None = None,
                   batch_size: int = 16, progress: bool = True, desc: str = "generate",
                   add_special_tokens: bool = False) -> list[str]:
    """Answers to many rendered prompts: batched with left padding and the KV cache, in input order.

    The texts of :func:`generate_answers` (which also says why each answer ended).
    """
    return [a.text for a in generate_answers(model, tokenizer, prompt_texts, options, batch_size, progress, desc,
                                             add_special_tokens)]


#: How a batch of prompts is decoded: ``generate`` (transformers' ``generate`` per batch, which runs to the batch's
#: longest answer) or ``refill`` (:mod:`lightning_lora.inference.refill`: a finished row is replaced at once, greedy
#: decoding verifies prompt-lookup drafts, samples of one prompt share its prefill) or ``vllm``
#: (:mod:`lightning_lora.inference.vllm_engine`: CUDA only, from the model's folder) or ``llamacpp``
#: (:mod:`lightning_lora.inference.llamacpp_engine`: llama.cpp on the CPU, from GGUF files written on the fly), or
#: ``auto``: :func:`resolve_engine` picks.
ENGINES = ("auto", "generate", "refill", "vllm", "llamacpp")


def _float32_on_cpu(model: Any) -> bool:
    """Whether the model's (base) weights are float32 tensors on the CPU."""
    return _device(model).type == "cpu" and weights_dtype(model) == torch.float32


def resolve_engine(model: Any, engine: str) -> str:
    """``engine``, or for ``auto`` the engine that is fastest here with the same answers: ``refill`` for a float32
    model computing in float32 on the CPU (its greedy answers were ``generate``'s token for token: 164/164 HumanEval
    answers of the real Qwen2.5-Coder-0.5B, 2.39x as fast on 2 cores), else ``generate`` (in bf16 refill's batches
    change the summation order and flip near-ties; on CUDA it was never measured)."""
    if engine != "auto":
        return engine
    if hasattr(model, "get_input_embeddings") and _float32_on_cpu(model) and not torch.is_autocast_enabled("cpu"):
        return "refill"
    return "generate"

#: Drafted tokens the ``refill`` engine verifies per row and pass when decoding greedily (0: none).
DEFAULT_DRAFT_TOKENS = 4


@torch.inference_mode()
def generate_answers(model: Any, tokenizer: Any, prompt_texts: Sequence[str], options: GenerationOptions | None = None,
                     batch_size: int = 16, progress: bool = True, desc: str = "generate",
                     add_special_tokens: bool = False, engine: str = "generate",
                     draft_tokens: int = DEFAULT_DRAFT_TOKENS) -> list[Answer]:
    """Answers to many rendered prompts, each with its finish reason: batched with left padding and the KV cache, in
    input order; each text cut at the first stop string.

    Prompts are sorted by length so a batch wastes little on padding. The model's train/eval mode,
    the tokenizer's padding side and pad token, and the caller's random state are restored. ``engine`` and
    ``draft_tokens``: see :data:`ENGINES` and :func:`~lightning_lora.inference.refill.generate_refilled`.
    """
    options = options or GenerationOptions()
    if engine not in ENGINES:
        raise UserError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}.")
    engine = resolve_engine(model, engine)
    if engine == "vllm":
        return _vllm_answers(model, tokenizer, prompt_texts, options, add_special_tokens)
    if engine == "llamacpp":
        return _llamacpp_answers(model, tokenizer, prompt_texts, options, batch_size, progress, desc,
                                 add_special_tokens)
    if engine == "refill":
        return _refilled_answers(model, tokenizer, prompt_texts, options, batch_size, progress, desc, add_special_tokens,
                                 draft_tokens)
    lengths = [len(tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"]) for text in prompt_texts]
    order = sorted(range(len(prompt_texts)), key=lambda i: -lengths[i])
    answers: list[Answer] = [Answer("", "length")] * len(prompt_texts)
    was_training, padding_side, pad_token = model.training, tokenizer.padding_side, tokenizer.pad_token
    device = _device(model)
    eos_ids = eos_token_ids(model, tokenizer)
    model.eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    try:
        kwargs = _generate_kwargs(model, tokenizer, options, None)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(options.seed)
            batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
            for batch in tqdm(batches, desc=desc, unit="batch", file=sys.stderr, disable=not progress):
                enc = tokenizer([prompt_texts[i] for i in batch], return_tensors="pt", padding=True,
                                add_special_tokens=add_special_tokens).to(device)
                generated = model.generate(**enc, **kwargs)[:, enc["input_ids"].shape[1]:]
                texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
                for i, text, ids in zip(batch, texts, generated.tolist()):
                    answers[i] = Answer(truncate_at_stop(text, options.stop),
                                        finish_reason(text, ids, eos_ids, options.stop))
    finally:
        model.train(was_training)
        tokenizer.padding_side = padding_side
        tokenizer.pad_token = pad_token
    return answers


def _vllm_answers(model: Any, tokenizer: Any, prompt_texts: Sequence[str], options: GenerationOptions,
                  add_special_tokens: bool) -> list[Answer]:
    from lightning_lora.inference.vllm_engine import model_folder, vllm_generate

    folder = model_folder(model)
    prompts = [tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"] for text in prompt_texts]
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    answers = vllm_generate(folder, prompts, max_new_tokens=options.max_new_tokens, stop=options.stop,
                            temperature=options.temperature, top_p=options.top_p, seed=options.seed, dtype=dtype)
    return [Answer(truncate_at_stop(text, options.stop), reason) for text, reason in answers]


def _llamacpp_answers(model: Any, tokenizer: Any, prompt_texts: Sequence[str], options: GenerationOptions,
                      batch_size: int, progress: bool, desc: str, add_special_tokens: bool) -> list[Answer]:
    from lightning_lora.inference.llamacpp_engine import llamacpp_generate

    prompts = [tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"] for text in prompt_texts]
    eos_ids = eos_token_ids(model, tokenizer)
    generated = llamacpp_generate(model, tokenizer, prompts, max_new_tokens=options.max_new_tokens, eos_ids=eos_ids,
                                  stop=options.stop, temperature=options.temperature, top_p=options.top_p,
                                  seed=options.seed, batch_size=batch_size, context=context_length(model),
                                  progress=progress, desc=desc)
    return answers_from_ids(tokenizer, generated, eos_ids, options.stop)


def answers_from_ids(tokenizer: Any, generated: Sequence[Sequence[int]], eos_ids: Sequence[int],
                     stop: Sequence[str]) -> list[Answer]:
    """Generated ids as answers: decoded, cut at the first stop string, with their finish reasons."""
    texts = [tokenizer.decode(ids, skip_special_tokens=True) for ids in generated]
    return [Answer(truncate_at_stop(text, stop), finish_reason(text, ids, eos_ids, stop))
            for text, ids in zip(texts, generated)]


def _refilled_answers(model: Any, tokenizer: Any, prompt_texts: Sequence[str], options: GenerationOptions,
                      batch_size: int, progress: bool, desc: str, add_special_tokens: bool,
                      draft_tokens: int) -> list[Answer]:
    prompts = [tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"] for text in prompt_texts]
    return refilled_answers(model, tokenizer, prompts, options, batch_size, progress, desc, draft_tokens)


def refilled_answers(model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]], options: GenerationOptions,
                     batch_size: int = 16, progress: bool = False, desc: str = "generate",
                     draft_tokens: int = DEFAULT_DRAFT_TOKENS) -> list[Answer]:
    """Answers to tokenized prompts through the ``refill`` engine, each cut at its first stop string and with its
    finish reason; the model's train/eval mode and the caller's random state are restored."""
    from lightning_lora.inference.refill import generate_refilled
    from lightning_lora.inference.weight_layout import fast_linears

    was_training = model.training
    device = _device(model)
    eos_ids = eos_token_ids(model, tokenizer)
    model.eval()
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
                fast_linears(model):
            generated = generate_refilled(model, tokenizer, prompts, max_new_tokens=options.max_new_tokens,
                                          eos_ids=eos_ids, stop=options.stop, temperature=options.temperature,
                                          top_p=options.top_p, seed=options.seed, batch_size=batch_size,
                                          context=context_length(model), draft_tokens=draft_tokens, ngram=3,
                                          progress=progress, desc=desc)
    finally:
        model.train(was_training)
    return answers_from_ids(tokenizer, generated, eos_ids, options.stop)


@dataclass
class ChatHistory:
    """A conversation that fits the model's context: the oldest exchanges are dropped first.

    Args:
        system_prompt: the system message (kept whatever is dropped).
        turns: ``[{"role": "user"|"assistant", "content": ...}]`` in order.
    """

    system_prompt: str | None = None
    turns: list[dict[str, str]] = field(default_factory=list)

    def messages(self) -> list[dict[str, str]]:
        head = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return head + self.turns

    def render(self, tokenizer: Any) -> str:
        """The conversation with a generation prompt, through the chat template."""
        if not has_chat_template(tokenizer):
            raise UserError("chat needs a tokenizer with a chat template (this model's has none); use generate.")
        return tokenizer.apply_chat_template(self.messages(), tokenize=False, add_generation_prompt=True)

    def fit(self, tokenizer: Any, budget: int) -> int:
        """Drop the oldest exchanges until the rendered conversation is at most ``budget`` tokens; return how many
        turns were dropped. The newest user message is never dropped (too long alone: an error)."""
        dropped = 0
        while len(tokenizer(self.render(tokenizer), add_special_tokens=False)["input_ids"]) > budget:
            if len(self.turns) <= 1:
                raise UserError(f"This message alone does not fit the model's context with room for an answer "
                                f"({budget} tokens); shorten it.")
            cut = 2 if len(self.turns) > 2 and self.turns[1]["role"] == "assistant" else 1
            del self.turns[:cut]
            dropped += cut
        return dropped

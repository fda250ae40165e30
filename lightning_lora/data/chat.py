"""Chat SFT data: conversations (OpenAI messages, ShareGPT or Alpaca) rendered with the chat template,
with the loss on the assistant turns only.

Which tokens are the assistant's is found by rendering prefixes of the conversation with the template
itself: the text up to an assistant turn with the generation prompt (``<|im_start|>assistant\\n``),
and the text through that turn. The characters between the two are the assistant's reply and the
template's end-of-turn marker (``<|im_end|>``, ``<|eot_id|>``); everything else (system and user
turns, role headers, the whitespace a template puts after the marker) gets label -100. This works for
any template whose rendering of the earlier turns does not change when later turns follow; a template
that rewrites history (one that drops the reasoning of earlier assistant turns, say) is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_lora.data.base import BaseDataModule
from lightning_lora.data.collate import IGNORE_INDEX
from lightning_lora.data.conversations import FORMATS, SHAPE_FIELDS, ConversationError, Message, detect_format, to_messages
from lightning_lora.data.sources import DataError, load_raw, load_source
from lightning_lora.inference.prompting import has_chat_template

#: Bump when the rendering or masking below changes, so cached tokenizations are not reused.
MASKING_VERSION = 1


def load_chat_template(value: str) -> str:
    """``data.chat_template``: a Jinja template given inline, or the path of a file holding one."""
    if "{{" in value or "{%" in value:
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise DataError(f"data.chat_template {value!r} is neither a Jinja template nor an existing file.")
    return path.read_text(encoding="utf-8")


def render(tokenizer: Any, messages: list[Message], add_generation_prompt: bool = False) -> str:
    """The conversation as text through the tokenizer's chat template."""
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
    except Exception as err:  # jinja2 errors, raise_exception() in the template
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConversationError(f"the chat template refuses it: {first}") from err


def _reply_end(turn: str, start: int, content: str) -> int:
    """Where an assistant turn's targets end: after its end-of-turn marker, before the template's trailing
    whitespace (a template without a marker keeps that whitespace: it is the only stop signal)."""
    end = len(turn.rstrip())
    if end <= start or turn[start:end].endswith(content.strip()):
        return len(turn)
    return end


def assistant_spans(tokenizer: Any, messages: list[Message]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of its assistant replies (with their end-of-turn marker)."""
    full = render(tokenizer, messages)
    spans = []
    for k, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        head = render(tokenizer, messages[:k], add_generation_prompt=True)
        turn = render(tokenizer, messages[: k + 1])
        if not (turn.startswith(head) and full.startswith(turn)):
            raise DataError(
                f"The chat template of {getattr(tokenizer, 'name_or_path', 'the tokenizer')} renders earlier turns "
                "differently once later turns follow, so the assistant's tokens cannot be told apart; set "
                "data.chat_template to a template whose renderings of a conversation's prefixes are prefixes of it.")
        # The reply starts where its text does: a template without a generation prompt leaves the role header after `head`.
        start = turn.find(message["content"].strip(), len(head))
        start = len(head) if start < 0 else start
        spans.append((start, _reply_end(turn, start, message["content"])))
    return full, spans


def encode_conversation(tokenizer: Any, messages: list[Message]) -> tuple[list[int], list[int]]:
    """Token ids of the rendered conversation, and labels that are -100 except on the assistant replies."""
    text, spans = assistant_spans(tokenizer, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    labels = [IGNORE_INDEX] * len(ids)
    span = 0
    for t, (start, _) in enumerate(encoded["offset_mapping"]):
        while span < len(spans) and start >= spans[span][1]:
            span += 1
        if span < len(spans) and start >= spans[span][0]:
            labels[t] = ids[t]
    return ids, labels


def fit_conversation(tokenizer: Any, messages: list[Message], max_length: int) -> tuple[list[int], list[int], int, bool]:
    """Encode a conversation within ``max_length`` tokens, dropping its oldest user/assistant pairs first.

    The system turn is always kept. When even the last pair does not fit, the sequence is cut at
    ``max_length``. Returns ids, labels, the number of pairs dropped and whether the rest was cut.
    """
    ids, labels = encode_conversation(tokenizer, messages)
    if len(ids) <= max_length:
        return ids, labels, 0, False
    head = messages[:1] if messages[0]["role"] == "system" else []
    pairs = (len(messages) - len(head)) // 2
    fits: tuple[int, list[int], list[int]] | None = None
    low, high = 1, pairs - 1
    while low <= high:  # fewest pairs dropped that fits: the length only shrinks as more are dropped
        mid = (low + high) // 2
        trial = encode_conversation(tokenizer, head + messages[len(head) + 2 * mid:])
        if len(trial[0]) <= max_length:
            fits, high = (mid, *trial), mid - 1
        else:
            low = mid + 1
    if fits is not None:
        return fits[1], fits[2], fits[0], False
    if pairs > 1:
        ids, labels = encode_conversation(tokenizer, head + messages[-2:])
    return ids[:max_length], labels[:max_length], pairs - 1, True


class ChatSFTDataModule(BaseDataModule):
    """Supervised fine-tuning on conversations, loss on every assistant turn and nothing else.

    Args:
        path: hub dataset id, local .jsonl/.json/.parquet file, or ``synthetic:chat`` (generated multi-turn data).
        format: ``messages`` (OpenAI ``role``/``content`` list), ``sharegpt`` (``conversations`` of
            ``from``/``value``), ``alpaca`` (``instruction``, optional ``input``, ``output``), or ``auto``
            (chosen from the fields, and printed).
        system_prompt: system turn for conversations that have none (None: leave them as they are).
        chat_template: Jinja chat template (inline, or the path of a file) replacing the tokenizer's own;
            needed for a tokenizer without one. Used to render the training data only.
        num_proc: processes for tokenizing (``datasets.map``); worth it for large files.
        **kwargs: see :class:`~lightning_lora.data.base.BaseDataModule`. ``max_length`` truncates whole
            turns: the oldest user/assistant pairs go first, the system turn stays.
    """

    def __init__(
        self,
        path: str = "synthetic:chat",
        format: str = "auto",
        system_prompt: str | None = None,
        chat_template: str | None = None,
        num_proc: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, **kwargs)
        if format not in FORMATS:
            raise DataError(f"data.format must be one of {', '.join(FORMATS)}, got {format!r}.")
        if num_proc is not None and num_proc < 1:
            raise DataError(f"data.num_proc must be a positive number of processes (or unset), got {num_proc}.")
        self.format = format
        self.system_prompt = system_prompt
        self.chat_template = chat_template
        self.num_proc = num_proc
        self.shape: str | None = None if format == "auto" else format
        self.truncated: dict[str, dict[str, int]] = {}
        self._template_ready = False

    @property
    def tokenizer(self):
        tokenizer = BaseDataModule.tokenizer.fget(self)
        if not self._template_ready:
            if self.chat_template:
                tokenizer.chat_template = load_chat_template(self.chat_template)
            if not has_chat_template(tokenizer):
                raise DataError(
                    f"The tokenizer of {self.tokenizer_name_or_path!r} has no chat template; set data.chat_template to "
                    "one (a Jinja string, or the path of a .jinja file), e.g. the ChatML template of a Qwen model.")
            if not getattr(tokenizer, "is_fast", False):
                raise DataError(f"The tokenizer of {self.tokenizer_name_or_path!r} is not a fast tokenizer; chat data "
                                "needs token offsets to find the assistant's tokens.")
            self._template_ready = True
        return tokenizer

    def settings(self) -> dict[str, Any]:
        return {"max_length": self.max_length, "shape": self.shape, "system_prompt": self.system_prompt,
                "masking": MASKING_VERSION}

    # -- reading and checking -------------------------------------------------------------------
    def load_splits(self) -> dict[str, Any]:
        raw = load_raw(self.path, self.config_name)
        self.shape = self._choose_shape(raw)
        self.required_fields = SHAPE_FIELDS[self.shape]
        for split, dataset in raw.items():
            self._check_conversations(split, dataset, single=len(raw) == 1)
        return load_source(self.path, self.config_name, self.split_field, self.val_fraction, self.seed,
                           self.use_splits, raw=raw)

    def _choose_shape(self, raw: Any) -> str:
        dataset = raw["train"] if "train" in raw else next(iter(raw.values()))
        columns = dataset.column_names
        if self.format != "auto":
            missing = [f for f in SHAPE_FIELDS[self.format] if f not in columns]
            if missing:
                raise DataError(f"data.format is {self.format!r}, but {self.path} has no field "
                                f"{', '.join(repr(m) for m in missing)}; its fields are {', '.join(columns)}.")
            return self.format
        counts = {shape: min(len(dataset) - dataset.data.column(f).null_count for f in fields)
                  for shape, fields in SHAPE_FIELDS.items() if all(f in columns for f in fields)}
        shape = detect_format(columns, counts)
        if shape is None:
            raise DataError(f"{self.path} is in none of the chat shapes (a 'messages' field: OpenAI messages; "
                            "'conversations': ShareGPT; 'instruction' and 'output': Alpaca); its fields are "
                            f"{', '.join(columns)}.")
        print(f"[lightning_lora] data.format auto: {self.path} holds {shape} rows "
              f"(field {' + '.join(repr(f) for f in SHAPE_FIELDS[shape])}).")
        return shape

    def _check_conversations(self, split: str, dataset: Any, single: bool) -> None:
        for index, row in enumerate(dataset):
            try:
                to_messages(row, self.shape, self.system_prompt)
            except ConversationError as err:
                raise DataError(f"{self._where(split, index, single)}: {err}.") from None

    def _where(self, split: str, index: int, single: bool) -> str:
        """The file and line (a local .jsonl file), record, or split and row of a raw row."""
        local = Path(self.path).expanduser()
        if single and local.is_file() and local.suffix.lower() == ".jsonl":
            with local.open(encoding="utf-8") as handle:
                rows = (number for number, line in enumerate(handle, start=1) if line.strip())
                line = next((number for i, number in enumerate(rows) if i == index), index + 1)
            return f"{self.path} line {line}"
        if single and local.is_file():
            return f"{self.path} record {index + 1}"
        return f"{self.path} ({split} split, row {index})"

    # -- tokenizing -----------------------------------------------------------------------------
    def tokenize_row(self, row: dict[str, Any]) -> dict[str, Any]:
        messages = to_messages(row, self.shape, self.system_prompt)
        try:
            ids, labels, dropped, cut = fit_conversation(self.tokenizer, messages, self.max_length)
        except ConversationError as err:  # rows were checked before; the template itself refuses one
            turns = ", ".join(m["role"] for m in messages)
            raise DataError(f"{self.path}: a conversation ({turns}) cannot be rendered: {err}.") from None
        return {"input_ids": ids, "labels": labels, "turns_dropped": dropped, "cut": int(cut)}

    def _tokenize(self, split: str, dataset: Any) -> Any:
        kept = super()._tokenize(split, dataset)
        dropped, cut = kept["turns_dropped"], kept["cut"]
        stats = {"conversations": sum(1 for d, c in zip(dropped, cut) if d or c), "turn_pairs": sum(dropped),
                 "cut": sum(cut)}
        self.truncated[split] = stats
        if stats["conversations"]:
            print(f"[lightning_lora] {split}: {stats['conversations']} of {len(kept)} conversations were longer than "
                  f"data.max_length={self.max_length}: dropped their {stats['turn_pairs']} oldest user/assistant turn "
                  f"pairs (system turn kept); {stats['cut']} cut short in their last turn.")
        return kept.remove_columns(["turns_dropped", "cut"])

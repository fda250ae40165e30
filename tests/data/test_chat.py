"""Chat SFT data: assistant-only loss on real chat templates, the three shapes, whole-turn truncation,
bad input as one line naming file and line, packing, and training through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lightning_lora.data.chat import ChatSFTDataModule
from lightning_lora.data.collate import IGNORE_INDEX
from lightning_lora.data.sources import DataError
from lightning_lora.problems.synthetic import as_shape

# Chat templates as the models ship them (tokenizer_config.json, GGUF metadata): no download.
#: Qwen2.5-*-Instruct (ChatML; a default system turn when the conversation has none).
QWEN25 = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

#: SmolLM2-135M-Instruct (ChatML; read from the GGUF file's tokenizer.chat_template).
SMOLLM2 = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
           "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
           "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
           "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

#: Meta-Llama-3-8B-Instruct (header format; content trimmed, BOS first).
LLAMA3 = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
          "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
          "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")

LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]

SYSTEM = "You answer in one line."
PAIRS = [("What is two plus two?", "Four."),
         ("And times three?", "Twelve, since 4 * 3 = 12."),
         ("Write it in Python.", "```python\nprint(4 * 3)\n```")]


def conversation(pairs=PAIRS, system: str | None = SYSTEM) -> list[dict]:
    messages = [{"role": "system", "content": system}] if system else []
    for user, reply in pairs:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    return messages


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def tokenizer_dir(root: Path, template: str | None, llama3: bool = False) -> Path:
    """The tiny byte-level tokenizer (see tiny.py) with a real model's template, or none, saved to a folder."""
    from lightning_lora.models.tiny import build_tokenizer

    tokenizer = build_tokenizer()
    if llama3:
        tokenizer.add_special_tokens({"additional_special_tokens": LLAMA3_SPECIALS})
        tokenizer.bos_token, tokenizer.eos_token = "<|begin_of_text|>", "<|eot_id|>"
    tokenizer.chat_template = template
    folder = root / f"tok-{len(list(root.glob('tok-*')))}"
    tokenizer.save_pretrained(folder)
    return folder


def module(tokenizer: Path | str, path: Path | str, **kwargs) -> ChatSFTDataModule:
    dm = ChatSFTDataModule(path=str(path), tokenizer_name_or_path=str(tokenizer), **kwargs)
    dm.setup("fit")
    return dm


def target_runs(dm: ChatSFTDataModule, row: dict) -> list[str]:
    """The decoded stretches of target tokens of a tokenized row."""
    runs, current = [], []
    for token, label in zip(row["input_ids"], row["labels"]):
        if label != IGNORE_INDEX:
            assert label == token
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    runs += [current] if current else []
    return [dm.tokenizer.decode(run) for run in runs]


def all_rows(dm: ChatSFTDataModule) -> list[tuple[dict, dict]]:
    return [(row, dm.raw_splits[split][row["idx"]]) for split in ("train", "validation") for row in dm.splits[split]]


@pytest.mark.parametrize(("template", "end_of_turn", "llama3"),
                         [("QWEN25", "<|im_end|>", False), ("SMOLLM2", "<|im_end|>", False),
                          ("LLAMA3", "<|eot_id|>", True)], ids=["qwen2.5-chatml", "smollm2-chatml", "llama3-headers"])
def test_targets_are_exactly_the_assistant_replies_and_their_end_of_turn(template, end_of_turn, llama3, tmp_path):
    rows = [{"messages": conversation(PAIRS[:n], system)} for n in (1, 2, 3) for system in (SYSTEM, None)] * 2
    text = globals()[template]
    if llama3:  # the template given as a data option (a file), the tokenizer has none of its own
        (tmp_path / "llama3.jinja").write_text(text)
        dm = module(tokenizer_dir(tmp_path, None, llama3=True), write(tmp_path / "d.jsonl", rows),
                    chat_template=str(tmp_path / "llama3.jinja"))
    else:
        dm = module(tokenizer_dir(tmp_path, text), write(tmp_path / "d.jsonl", rows))
    for row, raw in all_rows(dm):
        replies = [m["content"] + end_of_turn for m in raw["messages"] if m["role"] == "assistant"]
        assert target_runs(dm, row) == replies
        rendered = dm.tokenizer.apply_chat_template(raw["messages"], tokenize=False)
        assert dm.tokenizer.decode(row["input_ids"]) == rendered  # nothing added, nothing lost
        masked = dm.tokenizer.decode([t for t, label in zip(row["input_ids"], row["labels"]) if label == IGNORE_INDEX])
        assert all(m["content"] in masked for m in raw["messages"] if m["role"] != "assistant")


def test_the_three_shapes_give_the_same_tokens_and_auto_says_which_it_chose(tiny_qwen2, tmp_path, capsys):
    messages = conversation(PAIRS[:1], system=None)
    built = {}
    for shape in ("messages", "sharegpt", "alpaca"):
        path = write(tmp_path / f"{shape}.jsonl", [as_shape(messages, shape)] * 6)
        dm = module(tiny_qwen2, path)
        assert dm.shape == shape and f"holds {shape} rows" in capsys.readouterr().out
        built[shape] = dm.splits["train"][0]["input_ids"], dm.splits["train"][0]["labels"]
    assert built["messages"] == built["sharegpt"] == built["alpaca"]


def test_alpaca_input_joins_the_instruction_and_system_prompt_opens_conversations(tiny_qwen2, tmp_path):
    rows = [{"instruction": "Sum these.", "input": "2 3", "output": "5"}] * 4
    dm = module(tiny_qwen2, write(tmp_path / "a.jsonl", rows), system_prompt="Be exact.")
    text = dm.tokenizer.decode(dm.splits["train"][0]["input_ids"])
    assert text.startswith("<|im_start|>system\nBe exact.<|im_end|>\n<|im_start|>user\nSum these.\n\n2 3<|im_end|>")
    assert target_runs(dm, dm.splits["train"][0]) == ["5<|im_end|>"]


def test_truncation_drops_the_oldest_pairs_keeps_the_system_turn_and_counts(tiny_qwen2, tmp_path, capsys):
    long_pairs = [(f"Question {i}: " + "word " * 6, f"Answer {i}: " + "reply " * 6) for i in range(6)]
    rows = [{"messages": conversation(long_pairs)}] * 3 + [{"messages": conversation(PAIRS[:1])}] * 3
    path = write(tmp_path / "d.jsonl", [dict(r, split="train") for r in rows] + [dict(rows[-1], split="valid")])
    dm = module(tiny_qwen2, path, max_length=130)
    long_rows = [row for row in dm.splits["train"] if len(row["input_ids"]) > 40]
    assert len(long_rows) == 3
    for row in long_rows:
        assert len(row["input_ids"]) <= 130
        text = dm.tokenizer.decode(row["input_ids"])
        kept = [i for i in range(6) if f"Question {i}:" in text]
        assert text.startswith(f"<|im_start|>system\n{SYSTEM}<|im_end|>") and kept == list(range(6 - len(kept), 6))
        assert 1 <= len(kept) < 6 and all(f"Answer {i}:" in text for i in kept)  # whole turns: no pair is cut
        assert target_runs(dm, row) == [f"Answer {i}: " + "reply " * 6 + "<|im_end|>" for i in kept]
    dropped = 6 - len(kept)
    assert dm.truncated["train"] == {"conversations": 3, "turn_pairs": 3 * dropped, "cut": 0}
    assert (f"train: 3 of 6 conversations were longer than data.max_length=130: dropped their {3 * dropped} oldest "
            "user/assistant turn pairs") in capsys.readouterr().out


def test_a_conversation_with_no_assistant_tokens_left_is_dropped_and_counted(tiny_qwen2, tmp_path, capsys):
    rows = ([{"messages": conversation(PAIRS[:2], system="long " * 80)}] * 2 + [{"messages": conversation(PAIRS[:1])}] * 6)
    path = write(tmp_path / "d.jsonl", [dict(r, split="train") for r in rows] + [dict(rows[-1], split="valid")])
    dm = module(tiny_qwen2, path, max_length=48)
    assert dm.dropped["train"] == 2 and len(dm.splits["train"]) == 6
    assert "dropped 2 of 8 samples with no target tokens" in capsys.readouterr().out


def test_a_long_last_turn_is_cut_after_the_older_pairs_are_dropped(tiny_qwen2, tmp_path):
    rows = [{"messages": conversation([PAIRS[0], ("Tell me more.", "more " * 80)])}] * 4
    dm = module(tiny_qwen2, write(tmp_path / "d.jsonl", rows), max_length=60)
    row = dm.splits["train"][0]
    assert len(row["input_ids"]) == 60 and PAIRS[0][0] not in dm.tokenizer.decode(row["input_ids"])
    assert target_runs(dm, row)[0].startswith("more more")
    assert dm.truncated["train"]["cut"] == len(dm.splits["train"])


BAD = [
    pytest.param([{"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]}], "messages",
                 r"d\.jsonl line 3: turn 2 has unknown role 'bot'; expected one of system, user, assistant\.",
                 id="unknown-role"),
    pytest.param([{"conversations": [{"from": "human", "value": "a"}, {"from": "robot", "value": "b"}]}], "sharegpt",
                 r"d\.jsonl line 3: turn 2 has unknown from 'robot'; expected one of system, human, user, gpt, "
                 r"assistant\.", id="unknown-sharegpt-speaker"),
    pytest.param([{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                {"role": "assistant", "content": "c"}]}], "messages",
                 r"d\.jsonl line 3: turns go user, user, assistant; a conversation must be an optional system turn, "
                 r"then user and assistant turns alternating, starting with user and ending with assistant\.",
                 id="not-alternating"),
    pytest.param([{"messages": [{"role": "user", "content": "a"}]}], "messages", r"d\.jsonl line 3: turns go user; .*",
                 id="ends-with-user"),
    pytest.param([{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "  "}]}], "messages",
                 r"d\.jsonl line 3: turn 2 \(assistant\) content is empty\.", id="empty-content"),
    pytest.param([{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}], "messages",
                 r"d\.jsonl line 3: has the sharegpt shape, not the messages shape of the rest\.",
                 id="sharegpt-row-among-messages"),
    pytest.param([{"instruction": "a", "output": "b"}], "messages",
                 r"d\.jsonl line 3: has the alpaca shape, not the messages shape of the rest\.",
                 id="alpaca-row-among-messages"),
    pytest.param([{"text": "a"}], "messages", r"d\.jsonl line 3: has no 'messages' like the rest \(it has: text\)\.",
                 id="row-of-no-shape"),
]
GOOD = {"messages": conversation(PAIRS[:1])}


@pytest.mark.parametrize(("bad", "shape", "message"), BAD)
def test_bad_rows_are_one_error_naming_file_and_line(bad, shape, message, tiny_qwen2, tmp_path):
    good = as_shape(conversation(PAIRS[:1]), shape)
    rows = [good, good] + bad + [good] * 3  # the bad row is line 3
    with pytest.raises(DataError) as info:
        module(tiny_qwen2, write(tmp_path / "d.jsonl", rows))
    assert "\n" not in str(info.value)
    assert re.fullmatch(r".*" + message, str(info.value)), str(info.value)


def test_an_alpaca_file_with_an_empty_output_names_its_line(tiny_qwen2, tmp_path):
    rows = [{"instruction": "a", "input": "", "output": "b"}] * 4 + [{"instruction": "a", "input": "", "output": ""}]
    with pytest.raises(DataError, match=r"d\.jsonl line 5: output is empty\.$"):
        module(tiny_qwen2, write(tmp_path / "d.jsonl", rows))


def test_data_in_no_chat_shape_or_not_the_given_one_is_refused(tiny_qwen2, tmp_path):
    path = write(tmp_path / "d.jsonl", [{"prompt": "a", "answer": "b"}] * 4)
    with pytest.raises(DataError, match=r"is in none of the chat shapes .* its fields are prompt, answer\.$"):
        module(tiny_qwen2, path)
    path = write(tmp_path / "m.jsonl", [GOOD] * 4)
    with pytest.raises(DataError, match=r"data\.format is 'sharegpt', but .* has no field 'conversations'"):
        module(tiny_qwen2, path, format="sharegpt")
    with pytest.raises(DataError, match=r"data\.format must be one of auto, messages, sharegpt, alpaca"):
        ChatSFTDataModule(path=str(path), format="openai")


def test_a_tokenizer_without_a_chat_template_says_how_to_set_one(tmp_path):
    folder = tokenizer_dir(tmp_path, None)
    path = write(tmp_path / "d.jsonl", [GOOD] * 4)
    with pytest.raises(DataError, match=r"has no chat template; set data\.chat_template to one \(a Jinja string, "
                                        r"or the path of a \.jinja file\)"):
        module(folder, path)
    dm = module(folder, path, chat_template=SMOLLM2)  # inline template string
    assert target_runs(dm, dm.splits["train"][0]) == ["Four.<|im_end|>"]
    with pytest.raises(DataError, match=r"data\.chat_template 'nope\.jinja' is neither a Jinja template nor"):
        module(folder, path, chat_template="nope.jinja")


def test_a_template_that_rewrites_earlier_turns_is_refused(tiny_qwen2, tmp_path):
    # Shows only the last assistant reply in full, as reasoning templates drop earlier reasoning.
    rewriting = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['role'] == 'assistant' and not loop.last %}"
                 "...{% else %}{{ m['content'] }}{% endif %}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    with pytest.raises(DataError, match=r"renders earlier turns differently once later turns follow"):
        module(tiny_qwen2, write(tmp_path / "d.jsonl", [{"messages": conversation(PAIRS[:2])}] * 4), chat_template=rewriting)


def test_a_template_that_raises_on_a_conversation_is_one_line(tiny_qwen2, tmp_path):
    no_system = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
                 + SMOLLM2)
    with pytest.raises(DataError, match=r"d\.jsonl: a conversation \(system, user, assistant\) cannot be rendered: "
                                        r"the chat template refuses it: System role not supported\.$"):
        module(tiny_qwen2, write(tmp_path / "d.jsonl", [{"messages": conversation(PAIRS[:1])}] * 4), chat_template=no_system)

def test_a_template_without_a_generation_prompt_still_masks_the_role_headers(tiny_qwen2, tmp_path):
    no_prompt = "{% for m in messages %}### {{ m['role'] }}:\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    dm = module(tiny_qwen2, write(tmp_path / "d.jsonl", [{"messages": conversation(PAIRS[:2])}] * 4), chat_template=no_prompt)
    assert target_runs(dm, dm.splits["train"][0]) == [PAIRS[0][1] + "<|im_end|>", PAIRS[1][1] + "<|im_end|>"]


def test_an_empty_opening_system_turn_is_left_out(tiny_qwen2, tmp_path):
    rows = [{"conversations": [{"from": "system", "value": ""}, {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}] * 4
    dm = module(tiny_qwen2, write(tmp_path / "d.jsonl", rows))
    assert dm.tokenizer.decode(dm.splits["train"][0]["input_ids"]).startswith("<|im_start|>user\nHi")

def test_packing_keeps_each_conversations_targets(tiny_qwen2, tmp_path):
    from lightning_lora.data.collate import pack_batch

    rows = [{"messages": conversation(PAIRS[:n], system)} for n, system in ((1, None), (3, SYSTEM))] * 4
    dm = module(tiny_qwen2, write(tmp_path / "d.jsonl", rows), batch_size=4, pack=True)
    by_length = sorted(dm.splits["train"], key=lambda row: len(row["input_ids"]))
    samples = [by_length[-1], by_length[0], by_length[1]]
    assert len(samples[1]["input_ids"]) + len(samples[2]["input_ids"]) <= len(samples[0]["input_ids"])
    batch = pack_batch(samples, dm.tokenizer.pad_token_id)
    assert batch["input_ids"].shape[0] == 2  # the two short conversations share a row
    packed_targets = sorted(batch["labels"][batch["labels"] != IGNORE_INDEX].tolist())
    assert packed_targets == sorted(label for s in samples for label in s["labels"][1:] if label != IGNORE_INDEX)


def test_num_proc_tokenizes_the_same(tiny_qwen2, tmp_path):
    rows = [{"messages": conversation(PAIRS[:1 + i % 3])} for i in range(12)]
    path = write(tmp_path / "d.jsonl", rows)
    one, two = module(tiny_qwen2, path, max_length=64), module(tiny_qwen2, path, max_length=64, num_proc=2)
    assert one.splits["train"]["input_ids"] == two.splits["train"]["input_ids"]
    assert one.splits["train"]["labels"] == two.splits["train"]["labels"]



def test_a_resumed_loader_continues_with_the_next_unseen_packed_length_grouped_batch(tiny_qwen2, tmp_path):
    rows = [{"messages": conversation(PAIRS[: 1 + i % 3], SYSTEM if i % 2 else None)} for i in range(40)]
    dm = module(tiny_qwen2, write(tmp_path / "d.jsonl", rows), batch_size=4, pack=True, group_by_length=True)
    whole = [(batch["idx"].tolist(), batch["labels"].tolist()) for batch in dm.train_dataloader()]
    loader = dm.train_dataloader()
    loader.load_state_dict({"epoch": 0, "batches_done": 3, **dm._layout()})
    assert [(batch["idx"].tolist(), batch["labels"].tolist()) for batch in loader] == whole[3:]

# -- through the command line -------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
CHAT = ["--config", str(REPO / "configs" / "quickstart-chat.yaml"), "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false"]


@pytest.mark.parametrize("shape", ["messages", "sharegpt", "alpaca"])
def test_each_shape_trains_through_the_cli(shape, in_tmp, capsys):
    from lightning_lora.__main__ import main
    from lightning_lora.problems.synthetic import chat_rows

    path = write(in_tmp / f"{shape}.jsonl", chat_rows(num_train=32, num_valid=8, shape=shape))
    assert main(["fit", *CHAT, "--data.path", str(path), "--run_name", shape, "--trainer.max_steps", "4",
                 "--data.batch_size", "8", "--eval_every_n_steps", "4", "--checkpoint.every_n_train_steps", "4"]) == 0
    assert f"holds {shape} rows" in capsys.readouterr().out
    assert (in_tmp / "checkpoints" / shape / "step000004.ckpt").is_file()


def test_a_bad_row_stops_the_cli_with_one_line_before_any_model_loads(in_tmp, capsys, monkeypatch):
    from lightning_lora.__main__ import main

    def no_model(*args, **kwargs):
        raise AssertionError("model weights loaded before the data was checked")

    monkeypatch.setattr("lightning_lora.modules.causal_lm.load_causal_lm", no_model)
    write(in_tmp / "chat.jsonl", [GOOD] * 3 + [{"messages": [{"role": "user", "content": "a"},
                                                             {"role": "tool", "content": "b"}]}])
    assert main(["fit", *CHAT, "--data.path", "chat.jsonl"]) == 2
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        "error: chat.jsonl line 4: turn 2 has unknown role 'tool'; expected one of system, user, assistant."], err
    assert "Traceback" not in err

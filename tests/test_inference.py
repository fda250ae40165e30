"""The inference library without a command: options, generation config, streaming with stop strings, chat history."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightning_lora.errors import UserError
from lightning_lora.inference.generation import (
    ChatHistory,
    GenerationOptions,
    PromptFormat,
    StopAwareWriter,
    generate_text,
    generation_config,
)


@pytest.fixture(scope="module")
def model(tiny_qwen2: Path):
    from lightning_lora.models.loading import load_causal_lm

    return load_causal_lm(str(tiny_qwen2))


@pytest.mark.parametrize("bad, option", [({"max_new_tokens": 0}, "--max_new_tokens"), ({"temperature": -1}, "--temperature"),
                                         ({"top_p": 0}, "--top_p")])
def test_options_refuse_bad_values_by_name(bad, option):
    with pytest.raises(UserError, match=option):
        GenerationOptions(**bad)


def test_generation_config_is_greedy_by_default_and_ends_at_the_end_of_turn(model, tokenizer):
    greedy = generation_config(model, tokenizer)
    assert greedy.do_sample is False and tokenizer.eos_token_id in greedy.eos_token_id
    assert greedy.pad_token_id == tokenizer.pad_token_id
    sampled = generation_config(model, tokenizer, GenerationOptions(temperature=0.7, top_p=0.9))
    assert (sampled.do_sample, sampled.temperature, sampled.top_p) == (True, 0.7, 0.9)


def test_streamed_pieces_are_the_answer_and_hold_back_a_stop_string():
    pieces: list[str] = []
    streamer = StopAwareWriter(pieces.append, stop=["END"])
    for chunk in ("print(1)\n", "E", "N", "D and more"):
        streamer.take(chunk)
    assert "".join(pieces) == "print(1)\n" and streamer.flush() == "print(1)\n"
    pieces.clear()
    streamer = StopAwareWriter(pieces.append, stop=["END"])
    for chunk in ("a E", "x"):
        streamer.take(chunk)
    streamer.take("", end=True)
    assert "".join(pieces) == "a Ex"  # an "E" that did not become "END" is written after all


def test_streaming_writes_exactly_the_returned_answer(model, tokenizer):
    pieces: list[str] = []
    text = PromptFormat("Be brief.").render(tokenizer, "Read two integers and print their sum.")
    answer = generate_text(model, tokenizer, text, GenerationOptions(max_new_tokens=12), pieces.append)
    assert "".join(pieces) == answer == generate_text(model, tokenizer, text, GenerationOptions(max_new_tokens=12))


def test_history_drops_the_oldest_exchange_and_keeps_the_system_prompt(tokenizer):
    history = ChatHistory("sys")
    for i in range(3):
        history.turns += [{"role": "user", "content": f"question {i} " * 20}, {"role": "assistant", "content": f"answer {i}"}]
    history.turns.append({"role": "user", "content": "last"})
    size = len(tokenizer(history.render(tokenizer), add_special_tokens=False)["input_ids"])
    assert history.fit(tokenizer, size) == 0
    assert history.fit(tokenizer, size - 1) == 2
    assert history.turns[0]["content"].startswith("question 1") and history.messages()[0]["content"] == "sys"
    with pytest.raises(UserError, match="This message alone does not fit"):
        history.fit(tokenizer, 5)


def test_an_adapter_folder_from_another_tool_loads_on_the_base_its_adapter_config_names(tmp_path, tiny_qwen2, tokenizer):
    import torch
    from peft import LoraConfig, get_peft_model

    from lightning_lora.export.reader import load_export_model, open_export
    from lightning_lora.models.loading import load_causal_lm

    torch.manual_seed(0)
    peft_model = get_peft_model(load_causal_lm(str(tiny_qwen2)), LoraConfig(r=2, target_modules=["q_proj", "v_proj"],
                                                                            init_lora_weights=False))
    peft_model.save_pretrained(tmp_path)  # adapter_config.json names the base by its path; no export.json
    tokenizer.save_pretrained(tmp_path)
    loaded_tokenizer, record = open_export(tmp_path)
    assert record == {}
    loaded = load_export_model(tmp_path, record, loaded_tokenizer)
    ids = torch.tensor([[5, 17, 42, 7]])
    with torch.no_grad():
        assert torch.equal(loaded(input_ids=ids).logits, peft_model.eval()(input_ids=ids).logits)


def test_an_adapter_folder_naming_no_base_is_one_line(tmp_path, tokenizer):
    import json

    from lightning_lora.export.reader import load_export_model, open_export

    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 2}))
    tokenizer.save_pretrained(tmp_path)
    loaded_tokenizer, record = open_export(tmp_path)
    with pytest.raises(UserError, match=r"adapter_config\.json names no base model \(base_model_name_or_path\)"):
        load_export_model(tmp_path, record, loaded_tokenizer)


@pytest.mark.parametrize("text, ids, reason", [("x = 1\n```", [5, 6], "stop"), ("x = 1", [5, 99], "eos"),
                                               ("x = 1", [5, 6], "length")])
def test_finish_reason_says_what_ended_an_answer(text, ids, reason):
    from lightning_lora.inference.generation import finish_reason

    assert finish_reason(text, ids, eos_ids=[99], stop=["```"]) == reason


def test_answers_cut_by_the_budget_are_marked_and_longer_budgets_agree(model, tokenizer):
    from lightning_lora.inference.generation import generate_answers

    prompts = ["Say something.", "Write a long poem about the sea, please."]
    short = generate_answers(model, tokenizer, prompts, GenerationOptions(max_new_tokens=2), progress=False)
    long = generate_answers(model, tokenizer, prompts, GenerationOptions(max_new_tokens=40), progress=False)
    for a, b in zip(short, long):
        # a random-init model rarely ends its turn in two tokens; whatever it did, the reason must agree with the text
        assert a.truncated == (a.finish_reason == "length")
        assert a.finish_reason != "length" or b.text.startswith(a.text)
        if b.finish_reason == "eos":
            assert len(tokenizer(b.text, add_special_tokens=False)["input_ids"]) < 40


def test_a_prefilled_prompt_is_the_generation_prompt_followed_by_the_prefill(tokenizer):
    from lightning_lora.inference.prompting import build_prefilled_prompt, build_prompt

    head = build_prompt(tokenizer, "Add two numbers.", "Be brief.")
    assert build_prefilled_prompt(tokenizer, "Add two numbers.", "Be brief.", "```python\n") == head + "```python\n"

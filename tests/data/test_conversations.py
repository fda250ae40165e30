"""Chat rows of the three shapes to checked messages (no tokenizer)."""

from __future__ import annotations

import pytest

from lightning_lora.data.conversations import ConversationError, detect_format, to_messages

HI = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]


def test_sharegpt_speakers_and_alpaca_fields_become_roles():
    sharegpt = {"conversations": [{"from": "system", "value": "S"}, {"from": "user", "value": "Hi"},
                                  {"from": "gpt", "value": "Hello"}]}
    assert to_messages(sharegpt, "sharegpt") == [{"role": "system", "content": "S"}, *HI]
    assert to_messages({"instruction": "Hi", "input": None, "output": "Hello"}, "alpaca") == HI
    assert to_messages({"messages": HI}, "messages", system_prompt="S")[0] == {"role": "system", "content": "S"}


def test_auto_detection_prefers_the_shape_most_rows_have():
    assert detect_format(["messages", "conversations"], {"messages": 3, "sharegpt": 9}) == "sharegpt"
    assert detect_format(["instruction", "input", "output"], {"alpaca": 5}) == "alpaca"
    assert detect_format(["instruction", "text"], {}) is None


@pytest.mark.parametrize(("row", "message"), [
    ({"messages": [{"role": "system", "content": " "}]}, r"^turns go \(none\);"),
    ({"messages": [{"role": "system", "content": "S"}, {"role": "system", "content": "T"}, *HI]}, r"^turns go system, system"),
    ({"messages": [*HI, {"role": "assistant", "content": "again"}]}, r"^turns go user, assistant, assistant;"),
    ({"messages": [{"role": "user", "content": ["part"]}, HI[1]]}, r"^turn 1 \(user\) content is a list, not text$"),
    ({"messages": []}, r"^field 'messages' must be a non-empty list of turns"),
    ({"messages": [{"role": ["user"], "content": "x"}, HI[1]]}, r"^turn 1 has unknown role \['user'\]"),
])
def test_bad_conversations_say_what_is_wrong(row, message):
    with pytest.raises(ConversationError, match=message):
        to_messages(row, "messages")

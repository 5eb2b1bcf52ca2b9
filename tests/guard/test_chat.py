"""The chat-request and answer helpers: text only, everything else untouched."""

from __future__ import annotations

import copy
from typing import Any

from keel.guard.pii import (
    Kind,
    Pseudonymiser,
    blocked_types_chat,
    chat_texts,
    map_answer_text,
    map_chat_text,
    pseudonymise_chat,
    redact_chat,
)

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,MTIzLTQ1LTY3ODk="}}


def request() -> dict[str, Any]:
    return {
        "model": "m",
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "You help ann@example.com."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "My SSN is 123-45-6789, mail ann@example.com"},
                    IMAGE,
                ],
            },
            {"role": "assistant", "content": None, "tool_calls": [{"id": "t1"}]},
            {"role": "user", "content": "Nothing personal here."},
        ],
    }


def test_chat_texts_yields_string_contents_and_text_parts() -> None:
    assert list(chat_texts(request())) == [
        "You help ann@example.com.",
        "My SSN is 123-45-6789, mail ann@example.com",
        "Nothing personal here.",
    ]
    assert list(chat_texts({"prompt": "x"})) == []


def test_redact_chat_rewrites_text_and_leaves_the_rest() -> None:
    body = request()
    before = copy.deepcopy(body)
    out = redact_chat(body, numbered=True)
    assert body == before  # the input is not modified
    messages = out["messages"]
    assert messages[0]["content"] == "You help [EMAIL_1]."
    assert messages[1]["content"][0]["text"] == "My SSN is [US_SSN_1], mail [EMAIL_1]"
    assert messages[1]["content"][1] is body["messages"][1]["content"][1]  # the image part
    assert messages[2] is body["messages"][2]
    assert messages[3] is body["messages"][3]
    assert out["temperature"] == 0.2 and out["model"] == "m"


def test_an_unchanged_body_is_the_same_object() -> None:
    body = {"messages": [{"role": "user", "content": "hello"}, "odd", {"content": 3}]}
    assert map_chat_text(body, str.upper) is not body
    assert redact_chat(body) is body
    assert map_chat_text({"model": "m"}, str.upper) == {"model": "m"}


def test_pseudonymise_chat_shares_placeholders_across_messages() -> None:
    p = Pseudonymiser()
    out = pseudonymise_chat(request(), p)
    assert out["messages"][0]["content"] == "You help <EMAIL_1>."
    assert out["messages"][1]["content"][0]["text"] == "My SSN is <US_SSN_1>, mail <EMAIL_1>"
    assert p.mapping == {"<EMAIL_1>": "ann@example.com", "<US_SSN_1>": "123-45-6789"}


def test_blocked_types_chat_sees_every_text() -> None:
    assert blocked_types_chat(request()) == [Kind.EMAIL, Kind.US_SSN]
    assert blocked_types_chat(request(), {Kind.CARD}) == []


def test_map_answer_text_handles_chat_and_text_completions() -> None:
    chat = {"id": "a", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}}]}
    out = map_answer_text(chat, str.upper)
    assert out["choices"][0]["message"] == {"role": "assistant", "content": "X"}
    assert chat["choices"][0]["message"]["content"] == "x"
    text = {"choices": [{"index": 0, "text": "y"}, {"index": 1, "message": {"content": None}}]}
    assert map_answer_text(text, str.upper)["choices"][0]["text"] == "Y"
    assert map_answer_text(text, str.lower) is text
    assert map_answer_text({"error": {}}, str.upper) == {"error": {}}

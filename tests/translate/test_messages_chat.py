"""Anthropic Messages <-> Chat Completions: requests, whole answers and streams, both ways."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from keel.answer import Event
from keel.errors import BadRequest, UpstreamError
from keel.protocols.anthropic import MESSAGES
from keel.protocols.base import Seen
from keel.translate import MessagesToChat, translator
from keel.translate.messages_chat.request import to_chat
from keel.translate.messages_chat.response import to_message
from keel.translate.messages_chat.stream import ChunksToEvents

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}


def body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }


def test_a_full_request_is_translated() -> None:
    request = body(
        system=[{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look"},
                    IMAGE,
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "t1", "name": "find", "input": {"q": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "one"}],
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": "bad",
                        "is_error": True,
                    },
                    {"type": "text", "text": "And now?"},
                ],
            },
        ],
        stop_sequences=["END"],
        temperature=0.2,
        top_p=0.9,
        metadata={"user_id": "u-7"},
        tools=[{"name": "find", "description": "Find", "input_schema": {"type": "object"}}],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
    )
    chat = to_chat(request, stream=True)
    assert chat["messages"] == [
        {"role": "system", "content": "Be terse."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "t1",
                    "type": "function",
                    "function": {"name": "find", "arguments": '{"q":1}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "one"},
        {"role": "tool", "tool_call_id": "t2", "content": "Error: bad"},
        {"role": "user", "content": "And now?"},
    ]
    assert chat["stop"] == ["END"] and chat["user"] == "u-7" and chat["max_tokens"] == 64
    assert (chat["temperature"], chat["top_p"]) == (0.2, 0.9)
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {"name": "find", "description": "Find", "parameters": {"type": "object"}},
        }
    ]
    assert chat["tool_choice"] == "required" and chat["parallel_tool_calls"] is False
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"top_k": 5}, "top_k"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "thinking"),
        ({"service_tier": "auto"}, "service_tier"),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "content": [{"type": "thinking", "thinking": "h", "signature": "s"}],
                    }
                ]
            },
            "messages[0].content[0].type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
            "messages[0].content[0].type",
        ),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
        ({"tools": 5}, "tools"),
    ],
)
def test_what_chat_cannot_say_is_refused_naming_the_field(
    extra: dict[str, Any], param: str
) -> None:
    refused = MessagesToChat().refusal(body(**extra))
    assert isinstance(refused, BadRequest) and refused.param == param
    assert param.removesuffix(".type") in refused.message  # it names the field
    with pytest.raises(BadRequest):
        to_chat(body(**extra), stream=False)


def test_a_plain_request_is_not_refused() -> None:
    assert MessagesToChat().refusal(body(system="s", temperature=1)) is None


def test_only_chat_upstreams_get_a_translator() -> None:
    assert isinstance(translator("messages", frozenset({"chat"})), MessagesToChat)
    assert translator("messages", frozenset({"embeddings"})) is None
    assert translator("chat", frozenset({"messages"})) is None


def chat_answer(message: dict[str, Any], finish: str, **choice: Any) -> bytes:
    usage = {
        "prompt_tokens": 20,
        "completion_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 8},
    }
    answer = {
        "id": "chatcmpl-abc",
        "model": "up",
        "usage": usage,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, **choice}],
    }
    return orjson.dumps(answer)


def test_an_answer_with_a_tool_call_comes_back_as_blocks() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "find", "arguments": '{"q": 2}'}}
    raw = chat_answer(
        {"role": "assistant", "content": "Let me look.", "tool_calls": [call]}, "tool_calls"
    )
    message = orjson.loads(to_message(body(), raw))
    assert message["id"] == "msg_abc" and message["type"] == "message"
    assert message["content"] == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "c1", "name": "find", "input": {"q": 2}},
    ]
    assert message["stop_reason"] == "tool_use" and message["stop_sequence"] is None
    assert message["usage"] == {
        "input_tokens": 12,
        "output_tokens": 5,
        "cache_read_input_tokens": 8,
        "cache_creation_input_tokens": 0,
    }
    # Read back as keel meters it: the prompt counts the cached tokens again.
    assert MESSAGES.answer_tokens(message) == (20, 5, 8)


@pytest.mark.parametrize(
    ("finish", "text", "choice", "expected"),
    [
        ("stop", "Done.", {}, ("end_turn", None)),
        ("length", "Do", {}, ("max_tokens", None)),
        ("content_filter", "", {}, ("refusal", None)),
        ("stop", "Done", {"stop_reason": "END"}, ("stop_sequence", "END")),
        ("stop", "Done END", {}, ("stop_sequence", "END")),
    ],
)
def test_finish_reasons_become_stop_reasons(
    finish: str, text: str, choice: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    raw = chat_answer({"role": "assistant", "content": text}, finish, **choice)
    message = orjson.loads(to_message(body(stop_sequences=["END"]), raw))
    assert (message["stop_reason"], message["stop_sequence"]) == expected


def test_tool_arguments_that_are_not_json_are_the_upstreams_failure() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    raw = chat_answer({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")
    with pytest.raises(UpstreamError, match="not a JSON object"):
        to_message(body(), raw)


def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return orjson.dumps({"id": "chatcmpl-s", "model": "up", "choices": choices, **extra})


def translate(payloads: list[bytes], done: bool = True, **request: Any) -> list[dict[str, Any]]:
    stream = ChunksToEvents(body(**request))
    out = [e for p in payloads for e in stream.event(p)]
    return [orjson.loads(e) for e in [*out, *stream.end(done)]]


def test_a_text_stream_becomes_messages_events() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 2}
    events = translate(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk({}, "stop"),
            chunk(None, usage=usage),
        ]
    )
    assert [e["type"] for e in events] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0]["message"]["id"] == "msg_s" and events[0]["message"]["content"] == []
    assert events[2]["content_block"] == {"type": "text", "text": ""}
    assert "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta") == (
        "Hello"
    )
    delta = events[6]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["input_tokens"] == 9 and delta["usage"]["output_tokens"] == 2
    seen = Seen()
    MESSAGES.read_events([Event(orjson.dumps(e)) for e in events], seen, keep_usage=False)
    assert seen.tokens == (9, 2, 0) and "".join(seen.parts) == "Hello"


def test_a_tool_call_stream_becomes_a_tool_use_block() -> None:
    first = {
        "index": 0,
        "id": "c9",
        "type": "function",
        "function": {"name": "find", "arguments": ""},
    }
    events = translate(
        [
            chunk({"content": "Looking."}),
            chunk({"tool_calls": [first]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"q":'}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": " 3}"}}]}),
            chunk({}, "tool_calls"),
        ]
    )
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [s["index"] for s in starts] == [0, 1]
    assert starts[1]["content_block"] == {
        "type": "tool_use",
        "id": "c9",
        "name": "find",
        "input": {},
    }
    parts = [
        e["delta"]["partial_json"]
        for e in events
        if e.get("delta", {}).get("type") == "input_json_delta"
    ]
    assert orjson.loads("".join(parts)) == {"q": 3}
    assert [e["index"] for e in events if e["type"] == "content_block_stop"] == [0, 1]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    assert events[-2]["usage"] == {"output_tokens": 0}  # no usage upstream: keel estimates
    assert events[-1] == {"type": "message_stop"}


def test_a_stream_cut_short_gets_no_stop() -> None:
    events = translate([chunk({"content": "Hal"})], done=False)
    assert [e["type"] for e in events][-1] == "content_block_delta"
    assert not any(MESSAGES.finishes(e) for e in events)


def test_a_stream_stopping_at_a_sequence_says_which() -> None:
    events = translate(
        [chunk({"content": "one two"}), chunk({}, "stop", stop_reason="two")],
        stop_sequences=["two"],
    )
    assert events[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "two"}


def test_an_upstream_error_event_is_passed_on_in_messages_form() -> None:
    stream = ChunksToEvents(body())
    out = stream.event(orjson.dumps({"error": {"message": "overloaded", "type": "server_error"}}))
    assert orjson.loads(out[-1]) == {
        "type": "error",
        "error": {"message": "overloaded", "type": "server_error"},
    }


def test_pieces_that_arrive_together_are_one_delta_per_block() -> None:
    call = {"index": 0, "id": "c1", "type": "function", "function": {"name": "f"}}
    args = [{"index": 0, "function": {"arguments": part}} for part in ('{"q":', " 1", "}")]
    stream = ChunksToEvents(body())
    usage = {"prompt_tokens": 5, "completion_tokens": 4}
    batch = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({"tool_calls": [call]}),
        chunk({"tool_calls": [args[0]]}),
        chunk({"tool_calls": [args[1]]}),
    ]
    first = stream.events(batch)
    later = stream.events([chunk({"content": None, "tool_calls": [args[2]]})])
    tail = stream.events([chunk({}, "tool_calls"), chunk(None, usage=usage)])
    events = [e.data for e in [*first, *later, *tail]]
    assert all(e is not None for e in events)
    kinds = [(e["type"], e.get("delta", {}).get("type")) for e in events if e is not None]
    assert kinds == [
        ("message_start", None),
        ("ping", None),
        ("content_block_start", None),
        ("content_block_delta", "text_delta"),
        ("content_block_stop", None),
        ("content_block_start", None),
        ("content_block_delta", "input_json_delta"),
        ("content_block_delta", "input_json_delta"),  # a later read: a delta of its own
        ("content_block_stop", None),
        ("message_delta", None),
        ("message_stop", None),
    ]
    assert events[3] == {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hello"},
    }
    parts = [e["delta"]["partial_json"] for e in events[6:8] if e is not None]
    assert parts == ['{"q": 1', "}"]
    # What is sent is what the events say, each encoded once.
    assert [orjson.loads(e.raw) for e in [*first, *later, *tail]] == events


def test_a_payload_that_is_not_json_is_passed_on_for_the_meter_to_count() -> None:
    stream = ChunksToEvents(body())
    (event,) = stream.events([b"{oops"])
    assert not event.json and event.raw == b"{oops"

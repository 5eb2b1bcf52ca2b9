"""Chat Completions to Anthropic Messages and back, without a network."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from keel.errors import BadRequest, StreamBroken, UpstreamStatus
from keel.providers.anthropic import with_model
from keel.providers.anthropic_reply import ChunkStream, to_completion, upstream_error
from keel.providers.anthropic_request import to_messages

PNG = "iVBORw0KGgo="


def translate(**body: Any) -> dict[str, Any]:
    return to_messages({"model": "claude", **body}, 1024)


def test_system_turns_images_and_tools_translate() -> None:
    body = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
            {"role": "user", "content": "Weather?"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "See:"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": "Thanks"},
        ],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Look up",
                    "parameters": {"type": "object"},
                },
            }
        ],
        tool_choice="required",
        parallel_tool_calls=False,
        stop="END",
        temperature=0.5,
        top_p=0.9,
        user="u-7",
        stream=True,
        stream_options={"include_usage": True},
    )
    assert body["max_tokens"] == 1024  # the deployment's default: the client sent none
    assert body["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Use metric."},
    ]
    user, assistant, results = body["messages"]
    assert user["role"] == "user" and len(user["content"]) == 4  # two user turns merged
    assert user["content"][2] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    }
    assert user["content"][3]["source"] == {"type": "url", "url": "https://example.com/a.jpg"}
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}}
        ],
    }
    assert results["role"] == "user"  # the tool result and the next user text: one turn
    assert results["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "call_1",
            "content": [{"type": "text", "text": "sunny"}],
        },
        {"type": "text", "text": "Thanks"},
    ]
    assert body["tools"] == [
        {"name": "weather", "description": "Look up", "input_schema": {"type": "object"}}
    ]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["stop_sequences"] == ["END"]
    assert body["temperature"] == 0.5 and body["top_p"] == 0.9 and body["stream"] is True
    assert body["metadata"] == {"user_id": "u-7"}
    assert "stream_options" not in body and "user" not in body


def test_one_system_string_and_client_max_tokens() -> None:
    body = translate(
        messages=[{"role": "system", "content": "Hi"}, {"role": "user", "content": "x"}],
        max_completion_tokens=77,
        tool_choice={"type": "function", "function": {"name": "f"}},
    )
    assert body["system"] == "Hi" and body["max_tokens"] == 77
    assert body["tool_choice"] == {"type": "tool", "name": "f"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n", 2),
        ("logprobs", True),
        ("presence_penalty", 0.5),
        ("seed", 7),
        ("response_format", {"type": "json_object"}),
        ("not_a_field", 1),
    ],
)
def test_fields_without_an_equivalent_are_refused_by_name(field: str, value: Any) -> None:
    with pytest.raises(BadRequest) as caught:
        translate(messages=[{"role": "user", "content": "x"}], **{field: value})
    assert caught.value.param == field
    assert f"'{field}'" in caught.value.message


def test_defaults_of_untranslatable_fields_pass() -> None:
    body = translate(messages=[{"role": "user", "content": "x"}], n=1, logprobs=False, seed=None)
    assert "n" not in body and "logprobs" not in body


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ({"role": "user", "content": [{"type": "input_audio"}]}, "messages[0].content[0].type"),
        ({"role": "function", "content": "x"}, "messages[0].role"),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "[1"}}]},
            "messages[0].tool_calls[0]",
        ),
    ],
)
def test_bad_messages_are_refused_with_where(message: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequest) as caught:
        translate(messages=[message])
    assert caught.value.param == param


def test_temperature_above_anthropics_range_is_refused() -> None:
    with pytest.raises(BadRequest, match="temperature"):
        translate(messages=[{"role": "user", "content": "x"}], temperature=1.5)


def test_message_becomes_a_completion() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 20,
            "cache_read_input_tokens": 30,
            "cache_creation_input_tokens": 10,
            "output_tokens": 5,
        },
    }
    completion = orjson.loads(to_completion(orjson.dumps(message), "d"))
    choice = completion["choices"][0]
    assert completion["object"] == "chat.completion" and completion["model"] == "claude"
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me look."
    assert choice["message"]["reasoning_content"] == "hmm"
    call = choice["message"]["tool_calls"][0]
    assert call["id"] == "toolu_1" and call["function"]["name"] == "weather"
    assert orjson.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert completion["usage"] == {
        "prompt_tokens": 60,
        "completion_tokens": 5,
        "total_tokens": 65,
        "prompt_tokens_details": {"cached_tokens": 30},
    }


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
    ],
)
def test_stop_reasons(stop: str, finish: str) -> None:
    message = {"id": "m", "model": "c", "content": [], "stop_reason": stop, "usage": {}}
    completion = orjson.loads(to_completion(orjson.dumps(message), "d"))
    assert completion["choices"][0]["finish_reason"] == finish


def events(*items: dict[str, Any]) -> list[bytes]:
    return [orjson.dumps(item) for item in items]


def test_stream_events_become_chunks() -> None:
    stream = ChunkStream("d", include_usage=True)
    start = {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 3, "output_tokens": 1}}
    payloads = events(
        {"type": "message_start", "message": start},
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a":'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": " 1}"},
        },
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    )
    chunks = [orjson.loads(c) for p in payloads if (c := stream.one(p)) is not None]
    assert stream.done
    deltas: list[Any] = [c["choices"][0]["delta"] if c["choices"] else None for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1] == {"content": "Hi"}
    assert deltas[2]["tool_calls"][0] == {
        "index": 0,
        "id": "toolu_1",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    arguments = "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas[2:5])
    assert orjson.loads(arguments) == {"a": 1}
    assert chunks[5]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[6]["choices"] == []
    assert chunks[6]["usage"]["prompt_tokens"] == 3
    assert chunks[6]["usage"]["completion_tokens"] == 9
    assert all(c["id"] == "msg_1" and c["object"] == "chat.completion.chunk" for c in chunks)


def test_usage_chunk_only_when_asked() -> None:
    stream = ChunkStream("d", include_usage=False)
    assert stream.one(b'{"type":"message_stop"}') is None and stream.done


def test_error_event_before_and_after_the_answer_started() -> None:
    error = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    with pytest.raises(UpstreamStatus) as caught:
        ChunkStream("d", include_usage=False).one(error)
    assert caught.value.kind == "server_error"  # failed over, as a 529 would be
    started = ChunkStream("d", include_usage=False)
    started.one(
        b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}'
    )
    with pytest.raises(StreamBroken):
        started.one(error)


@pytest.mark.parametrize(
    ("status", "kind", "error_kind"),
    [
        (429, "rate_limit_error", "rate_limited"),
        (529, "overloaded_error", "server_error"),
        (503, "api_error", "server_error"),
        (500, "api_error", "server_error"),
        (401, "authentication_error", "refused"),
        (403, "permission_error", "refused"),
        (400, "invalid_request_error", "bad_request"),
    ],
)
def test_error_statuses_map_to_kinds(status: int, kind: str, error_kind: str) -> None:
    body = orjson.dumps({"type": "error", "error": {"type": kind, "message": "m"}})
    for chat in (True, False):
        error = upstream_error(status, body, "d", chat)
        assert error.kind == error_kind
        assert kind in error.message


def test_prompt_too_long_is_context_length_both_ways() -> None:
    body = orjson.dumps(
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "prompt is too long: 210000 tokens > 200000",
            },
        }
    )
    chat = upstream_error(400, body, "d", chat=True)
    assert chat.kind == "context_length" and chat.status == 400
    assert orjson.loads(chat.to_body())["error"]["code"] == "context_length_exceeded"
    native = upstream_error(400, body, "d", chat=False)
    assert native.kind == "context_length" and native.to_body() == body


def test_with_model_edits_only_the_top_level_model() -> None:
    raw = (
        b'{ "x_first": {"model": "nested"}, "model" :  "client-name",\n'
        b' "n": 1.50, "s": "caf\\u00e9 \\"model\\"", "model_x": ["model"]}'
    )
    edited = with_model(raw, "claude-3")
    assert edited == raw.replace(b'"client-name"', b'"claude-3"')
    assert with_model(b'{"messages": []}', "m") is None
    assert with_model(b'{"model": 5}', "m") is None

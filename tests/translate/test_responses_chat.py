"""The Responses <-> Chat Completions translator: requests, whole answers and streams, the
answers checked against the openai SDK's own types (what a client parses)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from keel.errors import BadRequest, UpstreamError
from keel.translate import translator
from keel.translate.responses_chat import ResponsesToChat
from keel.translate.responses_chat.request import to_chat

EVENTS: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
WEATHER = {
    "type": "function",
    "name": "weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": True,
}


def test_the_translator_is_found_for_chat_upstreams() -> None:
    found = translator("responses", frozenset({"chat", "completions"}))
    assert isinstance(found, ResponsesToChat)
    assert translator("responses", frozenset({"embeddings"})) is None


def test_a_string_input_with_instructions_and_settings() -> None:
    body = {
        "model": "m",
        "input": "Hello",
        "instructions": "Be brief.",
        "max_output_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.9,
        "user": "u1",
        "metadata": {"ticket": "7"},
        "store": False,
        "previous_response_id": None,
    }
    assert to_chat(body, stream=True) == {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
        ],
        "max_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.9,
        "user": "u1",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_items_messages_images_calls_and_outputs() -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "low"}
    body = {
        "model": "m",
        "input": [
            {"role": "developer", "content": "Rules."},
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "What is this?"}, image],
            },
            {"role": "assistant", "content": [{"type": "output_text", "text": "Let me look."}]},
            {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "weather", "arguments": '{"a":1}'},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "rain"}],
            },
            {"type": "function_call", "call_id": "c3", "name": "weather", "arguments": ""},
        ],
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "name": "weather"},
        "parallel_tool_calls": False,
    }
    chat = to_chat(body, stream=False)
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
        {"id": "c2", "type": "function", "function": {"name": "weather", "arguments": '{"a":1}'}},
    ]
    assert chat["messages"] == [
        {"role": "system", "content": "Rules."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": image["image_url"], "detail": "low"}},
            ],
        },
        {"role": "assistant", "content": "Let me look.", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c3", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
        },
    ]
    function = {k: v for k, v in WEATHER.items() if k != "type"}
    assert chat["tools"] == [{"type": "function", "function": function}]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert chat["parallel_tool_calls"] is False
    assert "stream" not in chat


def test_text_format_json_schema_is_a_response_format() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fmt = {"type": "json_schema", "name": "n", "schema": schema, "strict": True}
    chat = to_chat({"model": "m", "input": "x", "text": {"format": fmt}}, stream=False)
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "n", "schema": schema, "strict": True},
    }
    plain = to_chat({"model": "m", "input": "x", "text": {"format": {"type": "text"}}}, False)
    assert "response_format" not in plain


@pytest.mark.parametrize(
    ("extra", "param", "says"),
    [
        ({"reasoning": {"effort": "low"}}, "reasoning", "reasoning"),
        ({"tools": [WEATHER, {"type": "web_search"}]}, "tools[1].type", "'web_search'"),
        ({"tools": [{"type": "file_search", "vector_store_ids": []}]}, "tools[0].type", "file"),
        ({"include": ["file_search_call.results"]}, "include", "include"),
        ({"service_tier": "flex"}, "service_tier", "service_tier"),
        ({"truncation": "auto"}, "truncation", "disabled"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type", "item_reference"),
        ({"input": [{"type": "reasoning", "summary": []}]}, "input[0].type", "reasoning"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "input[0].content[0].type",
            "input_file",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
            "input[0].content[0].image_url",
            "file_id",
        ),
        ({"tool_choice": {"type": "allowed_tools"}}, "tool_choice", "tool_choice"),
        ({"text": {"format": {"type": "grammar"}}}, "text.format.type", "json_schema"),
        ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role", "developer"),
        ({"input": 3}, "input", "string"),
    ],
)
def test_what_chat_cannot_say_is_refused_naming_the_field(
    extra: dict[str, Any], param: str, says: str
) -> None:
    body = {"model": "m", "input": "x", **extra}
    with pytest.raises(BadRequest) as caught:
        to_chat(body, stream=False)  # as the router sends it: refusal first, then request
    assert caught.value.param == param
    assert says in caught.value.message
    cheap = ResponsesToChat().refusal(body)
    assert cheap is None or cheap.param == param
    if cheap is None:  # what the cheap check leaves, translating finds
        with pytest.raises(BadRequest):
            ResponsesToChat().request(body, stream=False)


def test_null_fields_count_as_not_sent() -> None:
    body = {"model": "m", "input": "x", "reasoning": None, "tools": None, "text": None}
    assert ResponsesToChat().refusal(body) is None
    assert to_chat(body, False)["messages"] == [{"role": "user", "content": "x"}]


def _chat_answer(message: dict[str, Any], finish: str = "stop", **usage: Any) -> bytes:
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "up-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17, **usage},
    }
    return orjson.dumps(answer)


REQUEST = {"model": "m", "input": "Hi", "instructions": "Be kind.", "metadata": {"a": "b"}}


def test_a_text_answer_is_a_completed_response() -> None:
    details = {"prompt_tokens_details": {"cached_tokens": 4}}
    raw = ResponsesToChat().response(
        REQUEST, _chat_answer({"role": "assistant", "content": "Hello!"}, **details)
    )
    response = Response.model_validate_json(raw)
    assert response.id.startswith("resp_") and len(response.id) == 37
    assert response.status == "completed" and response.output_text == "Hello!"
    assert response.instructions == "Be kind." and response.metadata == {"a": "b"}
    assert response.model == "up-model"
    message = response.output[0]
    assert message.type == "message" and message.id.startswith("msg_")
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 5)
    assert response.usage.total_tokens == 17
    assert response.usage.input_tokens_details.cached_tokens == 4


def test_tool_calls_are_function_call_items() -> None:
    calls = [
        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
        {"id": "call_2", "type": "function", "function": {"name": "t", "arguments": '{"x":1}'}},
    ]
    message = {"role": "assistant", "content": None, "tool_calls": calls}
    raw = ResponsesToChat().response(REQUEST, _chat_answer(message, "tool_calls"))
    response = Response.model_validate_json(raw)
    assert response.status == "completed"
    items = [(i.type, i.call_id, i.name, i.arguments) for i in response.output]  # type: ignore[union-attr]
    assert items == [
        ("function_call", "call_1", "weather", "{}"),
        ("function_call", "call_2", "t", '{"x":1}'),
    ]
    assert all(i.id.startswith("fc_") for i in response.output)  # type: ignore[union-attr]


def test_a_cut_answer_is_incomplete_for_max_output_tokens() -> None:
    message = {"role": "assistant", "content": "Once upon"}
    raw = ResponsesToChat().response(REQUEST, _chat_answer(message, "length"))
    response = Response.model_validate_json(raw)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"  # type: ignore[union-attr]


def test_an_answer_without_usage_reports_none_and_a_broken_one_is_the_upstreams() -> None:
    answer = orjson.loads(_chat_answer({"role": "assistant", "content": "x"}))
    del answer["usage"]
    raw = ResponsesToChat().response(REQUEST, orjson.dumps(answer))
    assert Response.model_validate_json(raw).usage is None
    with pytest.raises(UpstreamError):
        ResponsesToChat().response(REQUEST, b"not json")
    with pytest.raises(UpstreamError):
        ResponsesToChat().response(REQUEST, b'{"choices": []}')


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return orjson.dumps({"id": "c", "model": "up-model", "choices": choices, **extra})


def _run(chunks: list[bytes], done: bool = True) -> list[Any]:
    stream = ResponsesToChat().stream(REQUEST)
    raw = [e for chunk in chunks for e in stream.event(chunk)] + stream.end(done)
    events = [EVENTS.validate_json(e) for e in raw]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    return events


USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}


def test_a_text_stream_is_the_typed_event_sequence() -> None:
    events = _run(
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"content": "Hel"}),
            _chunk({"content": "lo"}),
            _chunk({}, "stop"),
            _chunk(usage=USAGE),
        ]
    )
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created, done, completed = events[0], events[6], events[-1]
    assert created.response.status == "in_progress" and created.response.output == []
    assert done.text == "Hello"
    response = completed.response
    assert response.id == created.response.id and response.status == "completed"
    assert response.output_text == "Hello" and response.output[0].status == "completed"
    assert response.usage is not None and response.usage.total_tokens == 12
    assert events[4].item_id == response.output[0].id


def test_tool_calls_stream_as_function_call_items() -> None:
    def call(index: int, arguments: str, **first: str) -> dict[str, Any]:
        function = {"arguments": arguments, **({"name": first["name"]} if first else {})}
        head = {"id": first["id"], "type": "function"} if first else {}
        return {"tool_calls": [{"index": index, **head, "function": function}]}

    events = _run(
        [
            _chunk({"content": "Checking."}),
            _chunk(call(0, "", id="call_a", name="weather")),
            _chunk(call(0, '{"city":')),
            _chunk(call(0, '"Oslo"}')),
            _chunk(call(1, "{}", id="call_b", name="time")),
            _chunk({}, "tool_calls", usage=USAGE),
        ]
    )
    kinds = [e.type for e in events]
    assert kinds[-8:] == [
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    response = events[-1].response
    assert [o.type for o in response.output] == ["message", "function_call", "function_call"]
    first, second = response.output[1], response.output[2]
    assert (first.call_id, first.name, first.arguments) == ("call_a", "weather", '{"city":"Oslo"}')
    assert (second.call_id, second.arguments) == ("call_b", "{}")
    dones = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert [d.output_index for d in dones] == [1, 2]


def test_a_cut_stream_ends_incomplete_and_a_broken_one_says_nothing() -> None:
    events = _run([_chunk({"content": "Once"}), _chunk({}, "length"), _chunk(usage=USAGE)])
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    broken = ResponsesToChat().stream(REQUEST)
    broken.event(_chunk({"content": "Once"}))
    assert broken.end(done=False) == []


def test_a_stream_without_usage_completes_at_its_end() -> None:
    events = _run([_chunk({"content": "x"}, "stop")])
    assert events[-1].type == "response.completed" and events[-1].response.usage is None
    empty = _run([], done=True)
    assert [e.type for e in empty][-1] == "response.completed"


def test_an_upstream_error_chunk_is_an_error_event() -> None:
    stream = ResponsesToChat().stream(REQUEST)
    stream.event(_chunk({"content": "x"}))
    error = {"message": "overloaded", "type": "server_error", "code": "overloaded"}
    [raw] = stream.event(orjson.dumps({"error": error}))
    event = EVENTS.validate_json(raw)
    assert event.type == "error" and event.message == "overloaded" and event.code == "overloaded"
    assert stream.event(b"not json") == [b"not json"]


def _together(batches: list[list[bytes]]) -> list[Any]:
    """The stream's events, each batch of chunks translated together, as the SDK reads them;
    each event's bytes and its parsed data say the same."""
    stream = ResponsesToChat().stream(REQUEST)
    made = [e for batch in batches for e in stream.events(batch)] + stream.last(True)
    assert all(orjson.loads(e.raw) == e.data for e in made)
    events = [EVENTS.validate_json(e.raw) for e in made]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    return events


def test_pieces_that_arrive_together_are_one_delta_per_item() -> None:
    def call(arguments: str, **first: str) -> dict[str, Any]:
        function = {"arguments": arguments, **({"name": first["name"]} if first else {})}
        head = {"id": first["id"], "type": "function"} if first else {}
        return {"tool_calls": [{"index": 0, **head, "function": function}]}

    first = [_chunk({"role": "assistant", "content": ""}), _chunk({"content": "Hel"})]
    rest = [
        _chunk({"content": "lo"}),
        _chunk({"content": " there"}),
        _chunk(call('{"city":', id="call_a", name="weather")),
        _chunk(call('"Oslo"}')),
        _chunk({}, "tool_calls"),
        _chunk(usage=USAGE),
    ]
    events = _together([first, rest])
    texts = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert texts == ["Hel", "lo there"]  # one delta per batch and item
    arguments = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert arguments == ['{"city":"Oslo"}']
    response = events[-1].response
    assert response.output_text == "Hello there"
    assert response.output[1].arguments == '{"city":"Oslo"}'  # type: ignore[union-attr]


def test_each_event_shows_the_stream_as_it_was_when_it_was_made() -> None:
    # One batch: every event is made before any is sent, and none may show what came later.
    events = _together([[_chunk({"content": "Hi"}), _chunk({}, "length", usage=USAGE)]])
    created, in_progress, added, part = events[:4]
    assert created.response.status == in_progress.response.status == "in_progress"
    assert created.response.output == [] and created.response.usage is None
    assert added.item.status == "in_progress" and added.item.content == []
    assert part.part.text == ""
    done = next(e for e in events if e.type == "response.output_item.done")
    assert done.item.status == "incomplete" and done.item.content[0].text == "Hi"
    assert events[-1].type == "response.incomplete"


def test_a_whole_answer_is_made_parsed() -> None:
    answer = ResponsesToChat().answer(REQUEST, _chat_answer({"role": "assistant", "content": "Hi"}))
    assert answer.data is not None and answer.data["output"][0]["content"][0]["text"] == "Hi"
    assert Response.model_validate_json(answer.raw).output_text == "Hi"

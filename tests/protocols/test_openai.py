"""How keel's stages read OpenAI chat streams: the data guards over chat chunks, each choice's
content and each tool call's arguments a text of its own."""

from __future__ import annotations

from typing import Any

import orjson

from keel.answer import Event
from keel.guard.pii.entities import Kind
from keel.guard.pii.stream import StreamGuard
from keel.protocols.openai import OPENAI

KINDS = {Kind.EMAIL, Kind.PHONE}


def chunk(index: int, content: str | None, finish: str | None = None) -> dict[str, Any]:
    choice = {"index": index, "delta": {"content": content}, "finish_reason": finish}
    return {"id": "c", "object": "chat.completion.chunk", "choices": [choice]}


def test_deltas_are_rewritten_and_what_was_held_leaves_at_the_finish() -> None:
    guard = OPENAI.event_guard(lambda: StreamGuard(KINDS))
    texts = []
    for data in (
        chunk(0, "Mail ann@exa"),
        chunk(1, "Other "),
        chunk(0, "mple.com"),
        chunk(1, "555-123-4567"),
        chunk(0, None, "stop"),
    ):
        (event,) = guard.feed([Event.of(data)])
        choice = orjson.loads(event.raw)["choices"][0]
        texts.append((choice["index"], choice["delta"]["content"]))
    assert texts == [(0, "Mail "), (1, "Other "), (0, ""), (1, ""), (0, "[EMAIL]")]
    (held,) = guard.flush()  # the stream broke: choice 1 still held its number
    assert held.data is not None
    assert [(c["index"], c["delta"]) for c in held.data["choices"]] == [(1, {"content": "[PHONE]"})]
    assert held.data["id"] == "c"


def test_chunks_without_text_keep_their_bytes() -> None:
    guard = OPENAI.event_guard(lambda: StreamGuard(KINDS))
    usage = b'{"id":"c","choices":[],"usage":{"prompt_tokens":3}}'
    tool = b'{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"t"}]}}]}'
    clean = b'{"choices":[{"index":0,"delta":{"content":"Hello there "}}]}'
    events = [Event(usage), Event(tool), Event(clean)]
    assert [e.raw for e in guard.feed(events)] == [usage, tool, clean]
    assert guard.flush() == []


def test_tool_call_arguments_are_guarded_across_chunks() -> None:
    guard = OPENAI.event_guard(lambda: StreamGuard(KINDS))
    pieces = ['{"to": "ann@exa', 'mple.com"}']
    out = ""
    for piece in pieces:
        call = {"index": 0, "id": "t", "function": {"name": "mail", "arguments": piece}}
        data = {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}
        (event,) = guard.feed([Event.of(data)])
        out += orjson.loads(event.raw)["choices"][0]["delta"]["tool_calls"][0]["function"][
            "arguments"
        ]
    (held,) = guard.flush()
    assert held.data is not None
    out += held.data["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
    assert out == '{"to": "[EMAIL]"}'

"""How keel's stages read OpenAI Responses bodies: prompt, usage, texts, stream events, and
the PII guard over a stream, whose final response must carry the guarded text too."""

from __future__ import annotations

from typing import Any

import orjson

from keel.answer import Event
from keel.guard.pii.entities import Kind
from keel.guard.pii.stream import StreamGuard
from keel.protocols.base import Seen
from keel.protocols.responses import RESPONSES, responses_tokens
from keel.translate.responses_chat import ResponsesToChat

EMAIL = "anna.schmidt@example.com"


def test_the_prompt_is_the_instructions_and_the_input() -> None:
    assert RESPONSES.prompt("responses", {"input": "hi"}) == "hi"
    body = {"instructions": "s", "input": [{"role": "user", "content": "hi"}]}
    assert RESPONSES.prompt("responses", body) == {"instructions": "s", "input": body["input"]}


def test_usage_counts_input_with_its_cached_tokens() -> None:
    usage = {"input_tokens": 10, "output_tokens": 3, "input_tokens_details": {"cached_tokens": 4}}
    assert responses_tokens(usage) == (10, 3, 4)
    assert responses_tokens({"input_tokens": 0, "output_tokens": 0}) is None
    assert responses_tokens({"input_tokens": "x", "output_tokens": 1}) is None
    assert responses_tokens(None) is None


def test_prompt_and_answer_texts_are_mapped_and_untouched_bodies_kept() -> None:
    body: dict[str, Any] = {
        "instructions": "a",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "a"}]},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "a"},
        ],
    }
    mapped = RESPONSES.map_prompt_text(body, str.upper)
    assert mapped["instructions"] == "A"
    assert mapped["input"][0]["content"][0]["text"] == "A"
    assert mapped["input"][1] is body["input"][1] and mapped["input"][2]["output"] == "A"
    assert RESPONSES.map_prompt_text(body, lambda t: t) is body
    assert RESPONSES.map_prompt_text({"input": "b"}, str.upper) == {"input": "B"}
    answer = {"output": [{"type": "message", "content": [{"type": "output_text", "text": "x"}]}]}
    assert RESPONSES.answer_text(answer) == "x"
    assert RESPONSES.map_answer_text(answer, str.upper)["output"][0]["content"][0]["text"] == "X"
    assert RESPONSES.map_answer_text(answer, lambda t: t) is answer
    screened = RESPONSES.screened_messages(body)
    assert screened == [{"role": "user", "content": "a"}, {"role": "tool", "content": "a"}]


def _translated(pieces: list[str]) -> list[Event]:
    stream = ResponsesToChat().stream({"model": "m", "input": "x"})
    raw: list[bytes] = []
    for piece in pieces:
        chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        raw.extend(stream.event(orjson.dumps(chunk)))
    usage = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    raw.extend(stream.event(orjson.dumps(finish)))
    raw.extend(stream.event(orjson.dumps({"choices": [], "usage": usage})))
    return [Event(r) for r in raw]


def test_a_stream_is_metered_and_what_starts_and_ends_it_is_known() -> None:
    events = _translated(["He", "llo"])
    seen = Seen()
    out = RESPONSES.read_events(events, seen, keep_usage=False)
    assert len(out) == len(events) and seen.parts == ["He", "llo"] and seen.tokens == (4, 2, 0)
    kinds = [e.data["type"] for e in events if e.data is not None]
    starts = [
        k for e, k in zip(events, kinds, strict=True) if RESPONSES.starts_answer(e.data or {})
    ]
    assert starts[0] == "response.output_text.delta"
    assert [k for e, k in zip(events, kinds, strict=True) if RESPONSES.finishes(e.data or {})] == [
        "response.completed"
    ]
    error = Event(b'{"type": "error", "message": "x", "sequence_number": 9}')
    assert RESPONSES.read_events([error], Seen(), keep_usage=False) == []


def test_the_stream_guard_redacts_across_deltas_and_in_every_copy() -> None:
    guard = RESPONSES.event_guard(lambda: StreamGuard([Kind.EMAIL]))
    events = guard.feed(_translated(["Mail ", EMAIL[:9], EMAIL[9:], " today"]))
    deltas = "".join(
        e.data["delta"]
        for e in events
        if e.data is not None and e.data["type"] == "response.output_text.delta"
    )
    assert EMAIL not in deltas and "[EMAIL]" in deltas
    sent = b"".join(e.raw for e in events)
    assert EMAIL.encode() not in sent
    final = [e.data for e in events if e.data is not None][-1]
    assert final["type"] == "response.completed"
    assert final["response"]["output"][0]["content"][0]["text"] == deltas


def test_events_the_stream_guard_leaves_as_they_are_keep_their_bytes() -> None:
    guard = RESPONSES.event_guard(lambda: StreamGuard([Kind.EMAIL]))
    given = _translated(["Nothing ", "to hide ", "here."])
    before = {id(e): e.raw for e in given}
    events = guard.feed(given)
    same = [e for e in events if id(e) in before and e.raw == before[id(e)]]
    # Not encoded a second time: the very bytes the translator made.
    assert all(e.raw is before[id(e)] for e in same)
    kinds = {e.data["type"] for e in same if e.data is not None}
    assert {"response.created", "response.output_text.done", "response.completed"} <= kinds

"""How keel's stages read Anthropic Messages bodies: prompt, usage, texts, stream events."""

from __future__ import annotations

from typing import Any

import orjson

from keel.answer import Event
from keel.guard.pii.entities import Kind
from keel.guard.pii.stream import StreamGuard
from keel.protocols.anthropic import MESSAGES, anthropic_tokens


def test_the_prompt_is_the_system_prompt_and_the_messages() -> None:
    body = {"system": "s", "messages": [{"role": "user", "content": "hi"}]}
    assert MESSAGES.prompt("messages", body) == {"system": "s", "messages": body["messages"]}
    assert MESSAGES.prompt("messages", {"messages": []}) == []


def test_usage_counts_cache_reads_and_writes_as_prompt() -> None:
    usage = {
        "input_tokens": 5,
        "output_tokens": 3,
        "cache_read_input_tokens": 10,
        "cache_creation_input_tokens": 2,
    }
    assert anthropic_tokens(usage) == (17, 3, 10)
    assert anthropic_tokens({"output_tokens": 9}, (17, 1, 10)) == (17, 9, 10)
    assert anthropic_tokens({"output_tokens": 9}) is None  # no prompt count: estimated
    assert anthropic_tokens({"input_tokens": 0, "output_tokens": 0}) is None
    assert anthropic_tokens({"input_tokens": "x", "output_tokens": 1}) is None


def test_prompt_texts_are_mapped_in_system_blocks_and_tool_results() -> None:
    body: dict[str, Any] = {
        "system": [{"type": "text", "text": "a"}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "b"},
                    {"type": "tool_result", "tool_use_id": "t", "content": "c"},
                    {"type": "image", "source": {}},
                ],
            }
        ],
    }
    out = MESSAGES.map_prompt_text(body, str.upper)
    assert out["system"][0]["text"] == "A"
    blocks = out["messages"][0]["content"]
    assert (blocks[0]["text"], blocks[1]["content"]) == ("B", "C")
    assert blocks[2] is body["messages"][0]["content"][2]
    assert MESSAGES.map_prompt_text(body, lambda t: t) is body  # nothing changed: no copy


def test_the_stream_guard_redacts_across_deltas_and_flushes_at_the_block_stop() -> None:
    guard = MESSAGES.event_guard(lambda: StreamGuard([Kind.EMAIL]))
    pieces = ["Mail anna.sch", "midt@example.com"]
    events = [
        Event(
            orjson.dumps(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": p},
                }
            )
        )
        for p in pieces
    ]
    events.append(Event(orjson.dumps({"type": "content_block_stop", "index": 0})))
    out = [orjson.loads(e.raw) for e in guard.feed(events)]
    text = "".join(e["delta"]["text"] for e in out if e["type"] == "content_block_delta")
    assert text == "Mail [EMAIL]" and out[-1]["type"] == "content_block_stop"


def test_first_token_and_finish() -> None:
    assert MESSAGES.starts_answer({"type": "content_block_delta"})
    assert not MESSAGES.starts_answer({"type": "message_start"})
    assert not MESSAGES.starts_answer(
        {"type": "content_block_start", "content_block": {"type": "text"}}
    )
    assert MESSAGES.starts_answer(
        {"type": "content_block_start", "content_block": {"type": "tool_use"}}
    )
    assert MESSAGES.finishes({"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
    assert not MESSAGES.finishes({"type": "ping"})

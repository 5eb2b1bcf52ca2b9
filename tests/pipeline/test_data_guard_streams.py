"""The data guards over streamed answers of the other protocols: a Messages tool_use input
streamed as ``input_json_delta`` and a Responses function call's arguments streamed as
deltas, redacted across deltas and in every copy; cut mid-stream, what was held leaves
redacted before the error."""

from __future__ import annotations

from typing import Any

import orjson

from tests.pipeline.test_data_guards import KEY, USER, call, run
from tests.pipeline.upstreams import Stream, drain


def sse(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data)


def messages_stream(pieces: list[str], end: bool = True) -> list[list[bytes]]:
    """A Messages stream whose one content block is a tool_use streamed in ``pieces``."""
    block = {"type": "tool_use", "id": "t1", "name": "login", "input": {}}
    reads = [
        [
            sse({"type": "message_start", "message": {"usage": {"input_tokens": 3}}}),
            sse({"type": "content_block_start", "index": 0, "content_block": block}),
        ]
    ]
    reads += [
        [
            sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": p},
                }
            )
        ]
        for p in pieces
    ]
    if end:
        reads.append(
            [
                sse({"type": "content_block_stop", "index": 0}),
                sse(
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": "tool_use"},
                        "usage": {"output_tokens": 2},
                    }
                ),
                sse({"type": "message_stop"}),
            ]
        )
    return reads  # fmt: skip


def partial_json(payloads: list[bytes]) -> str:
    return "".join(
        d["delta"]["partial_json"]
        for d in map(orjson.loads, payloads)
        if d.get("type") == "content_block_delta"
    )


KEY_PIECES = ['{"key": "' + KEY[:12], KEY[12:30], KEY[30:] + '", "n": 1}']


async def test_a_streamed_tool_use_input_is_guarded_across_its_json_deltas() -> None:
    c = call("redact", "messages", stream=True, max_tokens=8, messages=[USER])
    answer, _, _ = await run(c, Stream(messages_stream(KEY_PIECES)))
    payloads, _ = await drain(answer)
    assert partial_json(payloads) == '{"key": "[OPENAI_KEY]", "n": 1}'
    assert b"sk-proj" not in b"".join(payloads)
    kinds = [orjson.loads(p)["type"] for p in payloads]
    assert kinds.index("content_block_stop") > max(  # what was held goes before the stop
        i for i, k in enumerate(kinds) if k == "content_block_delta"
    )


async def test_a_tool_use_input_cut_mid_stream_leaves_redacted_before_the_error() -> None:
    pieces = ['{"note": "use ' + KEY[:20], KEY[20:]]  # then the connection drops
    c = call("redact", "messages", stream=True, max_tokens=8, messages=[USER])
    answer, _, _ = await run(c, Stream(messages_stream(pieces, end=False), breaks=True))
    payloads, _ = await drain(answer)
    assert partial_json(payloads) == '{"note": "use [OPENAI_KEY]'
    assert answer.ended is not None and answer.ended.code == "stream_broken"


def responses_stream(pieces: list[str], end: bool = True) -> list[list[bytes]]:
    """A Responses stream whose one output item is a function call streamed in ``pieces``."""
    item = {"type": "function_call", "id": "fc1", "call_id": "c1", "name": "login", "arguments": ""}
    reads = [
        [
            sse(
                {
                    "type": "response.created",
                    "sequence_number": 0,
                    "response": {"id": "r", "output": []},
                }
            ),
            sse(
                {
                    "type": "response.output_item.added",
                    "output_index": 0,
                    "item": item,
                    "sequence_number": 1,
                }
            ),
        ]
    ]
    reads += [
        [
            sse(
                {
                    "type": "response.function_call_arguments.delta",
                    "item_id": "fc1",
                    "output_index": 0,
                    "delta": p,
                    "sequence_number": 2 + i,
                }
            )
        ]
        for i, p in enumerate(pieces)
    ]
    if end:
        done = {**item, "arguments": "".join(pieces)}
        reads.append(
            [
                sse(
                    {
                        "type": "response.function_call_arguments.done",
                        "item_id": "fc1",
                        "output_index": 0,
                        "arguments": done["arguments"],
                        "sequence_number": 90,
                    }
                ),
                sse(
                    {
                        "type": "response.output_item.done",
                        "output_index": 0,
                        "item": done,
                        "sequence_number": 91,
                    }
                ),
                sse(
                    {
                        "type": "response.completed",
                        "sequence_number": 92,
                        "response": {
                            "id": "r",
                            "output": [done],
                            "usage": {"input_tokens": 3, "output_tokens": 2},
                        },
                    }
                ),
            ]
        )
    return reads  # fmt: skip


def by_type(payloads: list[bytes]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for data in map(orjson.loads, payloads):
        out.setdefault(data["type"], []).append(data)
    return out


async def test_streamed_function_call_arguments_are_guarded_in_every_copy() -> None:
    c = call("redact", "responses", stream=True, input="hi")
    answer, _, _ = await run(c, Stream(responses_stream(KEY_PIECES)))
    payloads, _ = await drain(answer)
    events = by_type(payloads)
    expected = '{"key": "[OPENAI_KEY]", "n": 1}'
    deltas = events["response.function_call_arguments.delta"]
    assert "".join(e["delta"] for e in deltas) == expected
    assert events["response.function_call_arguments.done"][0]["arguments"] == expected
    assert events["response.output_item.done"][0]["item"]["arguments"] == expected
    assert events["response.completed"][0]["response"]["output"][0]["arguments"] == expected
    assert b"sk-proj" not in b"".join(payloads)


async def test_function_call_arguments_cut_mid_stream_leave_redacted_before_the_error() -> None:
    pieces = ['{"note": "use ' + KEY[:20], KEY[20:]]
    c = call("redact", "responses", stream=True, input="hi")
    answer, _, _ = await run(c, Stream(responses_stream(pieces, end=False), breaks=True))
    payloads, _ = await drain(answer)
    deltas = by_type(payloads)["response.function_call_arguments.delta"]
    assert "".join(e["delta"] for e in deltas) == '{"note": "use [OPENAI_KEY]'
    assert answer.ended is not None and answer.ended.code == "stream_broken"

"""Anthropic Messages calls through ``Pipeline.run`` and the real router, without HTTP:
native to a provider that serves Messages (the body untouched but ``model``), translated to
chat-only ones (failover included), refused where nothing can take them, and a translated
stream that breaks is ended, never spliced."""

from __future__ import annotations

from typing import Any

import orjson

from keel.answer import Answer
from keel.call import Call, Principal
from keel.errors import BadRequest, StreamBroken, UpstreamUnavailable
from keel.protocols.anthropic import MESSAGES
from tests.pipeline.test_run import build, up
from tests.pipeline.upstreams import Scripted, Stream, chunk, config, drain, usage_chunk


class NativeMessages(Scripted):
    endpoints = frozenset({"messages", "chat"})


def messages_call(stream: bool = False, **body: Any) -> Call:
    base = {"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    c = Call(
        id="req-m",
        endpoint="messages",
        body={**base, "stream": stream, **body},
        model="m",
        stream=stream,
        protocol=MESSAGES,
    )
    c.principal = Principal(team="t", key_id="k", models=("*",))
    return c


def event(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data)


NATIVE_STREAM = [
    event(
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [],
                "usage": {"input_tokens": 7, "output_tokens": 1},
            },
        }
    ),
    event(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    ),
    event(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}
    ),
    event({"type": "content_block_stop", "index": 0}),
    event(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 4},
            "x_vendor": True,
        }
    ),
    event({"type": "message_stop"}),
]


async def test_a_native_provider_gets_the_body_untouched_but_model() -> None:
    cfg = config("a")
    native = NativeMessages(cfg.deployment("a"), Stream([NATIVE_STREAM]))
    pipeline, recorder, _ = build(cfg, a=native)
    call = messages_call(
        stream=True,
        thinking={"type": "enabled", "budget_tokens": 8},
        top_k=3,
        x_unknown={"kept": [1]},
    )
    answer = await pipeline.run(call)
    payloads, _ = await drain(answer)
    sent = native.sent[0]
    assert sent.endpoint == "messages"
    assert sent.body == {**call.body, "model": "up-a"}  # no stream_options, nothing dropped
    assert payloads == NATIVE_STREAM  # byte for byte
    assert answer.ended is None
    seen = recorder.seen[0]
    assert seen["status"] == 200 and seen["answer"] == "Hi"
    usage = seen["usage"]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (7, 4, False)


async def test_a_translated_stream_fails_over_and_comes_back_as_messages_events() -> None:
    cfg = config("a", "b")
    chat_stream = Stream([[chunk("Hel"), chunk("lo")], [chunk(finish="stop"), usage_chunk(5, 2)]])
    pipeline, recorder, scripted = build(
        cfg, a=up(cfg, "a", UpstreamUnavailable("a is down")), b=up(cfg, "b", chat_stream)
    )
    answer = await pipeline.run(messages_call(stream=True))
    payloads, _ = await drain(answer)
    events = [orjson.loads(p) for p in payloads]
    assert scripted["b"].sent[0].endpoint == "chat"
    assert scripted["b"].sent[0].body["stream_options"] == {"include_usage": True}
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    assert events[-2]["delta"]["stop_reason"] == "end_turn"
    seen = recorder.seen[0]
    assert seen["attempts"] == [("a", "upstream_unavailable"), ("b", None)]
    assert seen["answer"] == "Hello" and seen["usage"].prompt_tokens == 5


async def test_what_needs_native_goes_to_the_native_deployment_or_is_refused() -> None:
    cfg = config("chat", "native")
    native = NativeMessages(
        cfg.deployment("native"),
        orjson.dumps(
            {"type": "message", "content": [], "usage": {"input_tokens": 3, "output_tokens": 1}}
        ),
    )
    pipeline, _, scripted = build(cfg, native=native)
    answer = await pipeline.run(messages_call(thinking={"type": "enabled", "budget_tokens": 8}))
    assert answer.body is not None and native.sent and not scripted["chat"].sent
    only_chat = config("chat")
    pipeline, _, _ = build(only_chat)
    refused: Answer = await pipeline.run(messages_call(top_k=4))
    assert isinstance(refused.error, BadRequest) and refused.error.param == "top_k"


async def test_a_broken_translated_stream_is_ended_not_spliced() -> None:
    cfg = config("a", "b", stream_recovery=True)
    broken = Stream([[chunk("Hal")]], breaks=True)
    pipeline, recorder, scripted = build(
        cfg, a=up(cfg, "a", broken), b=up(cfg, "b", Stream([[chunk("Hallo", "stop")]]))
    )
    answer = await pipeline.run(messages_call(stream=True))
    payloads, notes = await drain(answer)
    assert not notes and not scripted["b"].sent  # not resumed on b
    assert isinstance(answer.ended, StreamBroken)
    assert [orjson.loads(p)["type"] for p in payloads][-1] == "content_block_delta"
    assert recorder.seen[0]["status"] == 502

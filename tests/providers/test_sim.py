"""The in-process simulator: deterministic words, OpenAI shapes, paced streams, a bounded queue."""

from __future__ import annotations

import asyncio
import base64
import math
import struct
import time
from collections.abc import AsyncGenerator
from typing import Any

import orjson
import pytest

from keel.call import Endpoint
from keel.config.schema import DeploymentConfig
from keel.errors import UpstreamStatus
from keel.providers.base import UpstreamReply, UpstreamRequest
from keel.providers.sim import SimProvider, count_tokens

FAST = {"ttft_ms": 0, "tokens_per_s": 1_000_000}


def sim(**settings: Any) -> SimProvider:
    fields = {"name": "sim-test", "provider": "sim", "model": "sim-llm", "region": "local"}
    return SimProvider(DeploymentConfig.model_validate(fields | {"sim": FAST | settings}))


def chat_body(content: str = "Hello, world!", **fields: Any) -> dict[str, Any]:
    return {"model": "sim-llm", "messages": [{"role": "user", "content": content}]} | fields


async def send(
    provider: SimProvider, body: dict[str, Any], endpoint: Endpoint = "chat"
) -> dict[str, Any]:
    reply = await provider.send(UpstreamRequest(endpoint, body, False, "req-1"))
    parsed: dict[str, Any] = orjson.loads(reply.body)
    return parsed


async def open_stream(
    provider: SimProvider, body: dict[str, Any], endpoint: Endpoint = "chat"
) -> UpstreamReply:
    return await provider.send(UpstreamRequest(endpoint, body | {"stream": True}, True, "req-1"))


async def stream(
    provider: SimProvider, body: dict[str, Any], endpoint: Endpoint = "chat"
) -> tuple[UpstreamReply, list[dict[str, Any]]]:
    reply = await open_stream(provider, body, endpoint)
    assert reply.events is not None
    return reply, [orjson.loads(event) async for batch in reply.events for event in batch]


async def close(reply: UpstreamReply) -> None:
    assert isinstance(reply.events, AsyncGenerator)
    await reply.events.aclose()


def text_of(answer: dict[str, Any]) -> str:
    text: str = answer["choices"][0]["message"]["content"]
    return text


# --- what it says -------------------------------------------------------------------------------


async def test_same_seed_and_prompt_give_the_same_text() -> None:
    first = text_of(await send(sim(seed=7), chat_body()))
    second = text_of(await send(sim(seed=7), chat_body()))
    assert first == second
    assert first


async def test_seed_request_seed_and_prompt_each_change_the_text() -> None:
    base = text_of(await send(sim(seed=7), chat_body()))
    assert text_of(await send(sim(seed=8), chat_body())) != base
    assert text_of(await send(sim(seed=7), chat_body(seed=1))) != base
    assert text_of(await send(sim(seed=7), chat_body("Another prompt"))) != base


async def test_answer_length_is_around_output_tokens_and_stops() -> None:
    provider = sim(output_tokens=20)
    for i in range(10):
        answer = await send(provider, chat_body(f"prompt {i}"))
        assert 10 <= answer["usage"]["completion_tokens"] <= 30
        assert answer["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_max_tokens_caps_the_answer_with_finish_reason_length(field: str) -> None:
    answer = await send(sim(output_tokens=40), chat_body() | {field: 3})
    assert answer["usage"]["completion_tokens"] == 3
    assert len(text_of(answer).split()) == 3
    assert answer["choices"][0]["finish_reason"] == "length"


async def test_a_generous_max_tokens_does_not_cut() -> None:
    answer = await send(sim(output_tokens=10), chat_body(max_tokens=1000))
    assert answer["choices"][0]["finish_reason"] == "stop"


async def test_usage_counts_words_and_punctuation() -> None:
    body = {
        "messages": [
            {"role": "system", "content": ""},
            {"role": "user", "content": [{"type": "text", "text": "Hello, world!"}]},
        ]
    }
    answer = await send(sim(), body)
    usage = answer["usage"]
    assert usage["prompt_tokens"] == 1 + 4  # an empty message still counts one
    assert usage["completion_tokens"] == len(text_of(answer).split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert count_tokens("Hello, world!") == 4


async def test_chat_answer_has_openai_shape() -> None:
    answer = await send(sim(), chat_body(model="asked-model"))
    assert answer["id"].startswith("chatcmpl-")
    assert answer["object"] == "chat.completion"
    assert isinstance(answer["created"], int)
    assert answer["model"] == "asked-model"
    choice = answer["choices"][0]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"


async def test_completions_answer_has_openai_shape() -> None:
    answer = await send(sim(), {"model": "m", "prompt": "Once upon a time"}, "completions")
    assert answer["id"].startswith("cmpl-")
    assert answer["object"] == "text_completion"
    assert answer["choices"][0]["text"]
    assert answer["usage"]["prompt_tokens"] == 4


async def test_unknown_fields_are_ignored() -> None:
    plain = text_of(await send(sim(), chat_body()))
    odd = chat_body(temperature=0.3, tools=[], frobnicate={"x": 1}, n=1, user="u")
    assert text_of(await send(sim(), odd)) == plain


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("chat", {"model": "m"}),
        ("chat", {"model": "m", "messages": []}),
        ("chat", {"model": "m", "messages": ["hi"]}),
        ("completions", {"model": "m"}),
        ("embeddings", {"model": "m", "input": []}),
        ("chat", chat_body(max_tokens=0)),
        ("embeddings", {"model": "m", "input": "x", "dimensions": "many"}),
    ],
)
async def test_a_bad_request_is_a_400_in_openai_shape(
    endpoint: Endpoint, body: dict[str, Any]
) -> None:
    with pytest.raises(UpstreamStatus) as caught:
        await send(sim(), body, endpoint)
    assert caught.value.upstream_status == 400
    assert orjson.loads(caught.value.body)["error"]["type"] == "invalid_request_error"


# --- streaming ----------------------------------------------------------------------------------


async def test_chat_stream_has_openai_chunk_shapes() -> None:
    provider = sim()
    whole = await send(provider, chat_body())
    reply, chunks = await stream(provider, chat_body())
    assert reply.done
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert all("usage" not in c for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    tokens = chunks[1:-1]
    assert len(tokens) == whole["usage"]["completion_tokens"]
    assert "".join(c["choices"][0]["delta"]["content"] for c in tokens) == text_of(whole)
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }


async def test_include_usage_adds_a_last_usage_chunk() -> None:
    provider = sim()
    whole = await send(provider, chat_body(max_tokens=5))
    body = chat_body(max_tokens=5, stream_options={"include_usage": True})
    _, chunks = await stream(provider, body)
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == whole["usage"]


async def test_completions_stream_carries_text() -> None:
    provider = sim()
    body = {"model": "m", "prompt": "Once", "stream_options": {"include_usage": True}}
    whole = await send(provider, body, "completions")
    _, chunks = await stream(provider, body, "completions")
    assert all(c["object"] == "text_completion" for c in chunks)
    text = "".join(c["choices"][0]["text"] for c in chunks[:-1])
    assert text == whole["choices"][0]["text"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == whole["usage"]


async def test_done_is_set_only_after_the_last_payload() -> None:
    reply = await open_stream(sim(), chat_body(max_tokens=2))
    assert reply.events is not None
    seen = 0
    async for batch in reply.events:
        assert not reply.done
        seen += len(batch)
    assert seen == 4 and reply.done


async def test_latency_is_simulated() -> None:
    provider = sim(ttft_ms=40, ttft_sigma=0, tokens_per_s=500, tokens_per_s_sigma=0)
    started = time.perf_counter()
    await send(provider, chat_body(max_tokens=10))
    assert time.perf_counter() - started >= 0.05  # 40 ms + 10 tokens at 2 ms, with slack


# --- capacity -----------------------------------------------------------------------------------


async def test_a_request_beyond_capacity_waits_for_the_slot() -> None:
    provider = sim(capacity=1, max_queue=4)
    first = await open_stream(provider, chat_body())
    assert first.events is not None
    await anext(first.events)  # the first stream now holds the only slot
    second = asyncio.create_task(send(provider, chat_body("second")))
    for _ in range(5):
        await asyncio.sleep(0)
    assert provider.slots.waiting == 1 and not second.done()
    async for _ in first.events:
        pass
    assert (await second)["choices"][0]["finish_reason"] == "stop"
    assert provider.slots.busy == 0 and provider.slots.waiting == 0


async def test_queued_requests_are_served_in_order() -> None:
    provider = sim(capacity=1, max_queue=4)
    await provider.slots.acquire()
    finished: list[int] = []

    async def call(i: int) -> None:
        await send(provider, chat_body(f"call {i}"))
        finished.append(i)

    tasks = [asyncio.create_task(call(i)) for i in range(3)]
    await asyncio.sleep(0)
    provider.slots.release()
    await asyncio.gather(*tasks)
    assert finished == [0, 1, 2]


async def test_a_full_queue_answers_503() -> None:
    provider = sim(capacity=1, max_queue=0)
    first = await open_stream(provider, chat_body())
    assert first.events is not None
    await anext(first.events)
    with pytest.raises(UpstreamStatus) as caught:
        await send(provider, chat_body("overflow"))
    assert caught.value.upstream_status == 503 and caught.value.kind == "server_error"
    assert "capacity" in orjson.loads(caught.value.body)["error"]["message"]
    with pytest.raises(UpstreamStatus):
        await open_stream(provider, chat_body("overflow stream"))
    await close(first)


async def test_a_stream_stopped_early_gives_its_slot_back() -> None:
    provider = sim(capacity=1, max_queue=0)
    reply = await open_stream(provider, chat_body())
    assert reply.events is not None
    await anext(reply.events)
    await close(reply)
    assert provider.slots.busy == 0
    assert (await send(provider, chat_body()))["choices"]


async def test_a_stream_never_started_holds_no_slot() -> None:
    provider = sim(capacity=1, max_queue=0)
    unread = await open_stream(provider, chat_body())
    assert provider.slots.busy == 0
    assert (await send(provider, chat_body()))["choices"]
    del unread


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    provider = sim(capacity=1, max_queue=1)
    await provider.slots.acquire()
    waiter = asyncio.create_task(send(provider, chat_body()))
    await asyncio.sleep(0)
    assert provider.slots.waiting == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert provider.slots.waiting == 0
    provider.slots.release()
    assert provider.slots.busy == 0


# --- embeddings ---------------------------------------------------------------------------------


async def test_embeddings_are_deterministic_unit_vectors() -> None:
    body = {"model": "emb", "input": ["alpha", "beta gamma"]}
    answer = await send(sim(), body, "embeddings")
    assert answer["object"] == "list" and answer["model"] == "emb"
    assert [d["index"] for d in answer["data"]] == [0, 1]
    vector = answer["data"][0]["embedding"]
    assert len(vector) == 64
    assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)
    assert answer["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    again = await send(sim(), body, "embeddings")
    assert again["data"] == answer["data"]
    assert answer["data"][0]["embedding"] != answer["data"][1]["embedding"]


async def test_embeddings_honour_dimensions() -> None:
    body = {"model": "emb", "input": "alpha", "dimensions": 16}
    answer = await send(sim(), body, "embeddings")
    assert len(answer["data"][0]["embedding"]) == 16


async def test_base64_embeddings_decode_to_the_same_floats() -> None:
    body = {"model": "emb", "input": [[1, 2, 3], "text"]}
    floats = await send(sim(), body, "embeddings")
    packed = await send(sim(), body | {"encoding_format": "base64"}, "embeddings")
    for plain, encoded in zip(floats["data"], packed["data"], strict=True):
        raw = base64.b64decode(encoded["embedding"])
        assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == plain["embedding"]

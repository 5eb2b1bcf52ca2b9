"""The anthropic provider against the recording Anthropic upstream on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestServer

from keel.call import Endpoint
from keel.config.schema import DeploymentConfig
from keel.errors import StreamBroken, UpstreamStatus
from keel.providers import build_provider
from keel.providers.base import Provider, UpstreamRequest
from tests.providers.anthropic_upstream import RECORDED, app


@pytest.fixture
async def upstream() -> AsyncIterator[TestServer]:
    server = TestServer(app(), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def provider(upstream: TestServer) -> AsyncIterator[Provider]:
    deployment = DeploymentConfig(
        name="claude",
        provider="anthropic",
        model="claude-up",
        region="r",
        base_url=str(upstream.make_url("/a")),
        api_key="sk-ant-test",
        anthropic={"beta": ["prompt-caching-2024-07-31", "other"], "max_tokens": 333},
        timeouts={"first_byte_s": 30, "total_s": 60},
    )
    built = build_provider(deployment)
    await built.start()
    yield built
    await built.close()


def recorded(upstream: TestServer) -> list[dict[str, Any]]:
    return upstream.app[RECORDED]


async def drain(provider: Provider, request: UpstreamRequest) -> tuple[list[bytes], bool]:
    reply = await provider.send(request)
    assert reply.events is not None
    payloads = [p async for batch in reply.events for p in batch]
    return payloads, reply.done


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "claude-up", "messages": [{"role": "user", "content": text}], **extra}


async def test_chat_is_sent_as_messages_with_anthropics_headers(
    provider: Provider, upstream: TestServer
) -> None:
    reply = await provider.send(UpstreamRequest("chat", chat("hi"), False, "req-1"))
    completion = orjson.loads(reply.body)
    assert completion["choices"][0]["message"]["content"] == "Hello from the recorder."
    assert completion["usage"]["prompt_tokens"] == 60
    assert completion["usage"]["prompt_tokens_details"] == {"cached_tokens": 30}
    (seen,) = recorded(upstream)
    assert seen["path"] == "/a/v1/messages"
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-api-key"] == "sk-ant-test" and "authorization" not in headers
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31,other"
    sent = orjson.loads(seen["body"])
    assert sent == {
        "model": "claude-up",
        "max_tokens": 333,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


async def test_chat_stream_becomes_chunks_with_usage(provider: Provider) -> None:
    body = chat("hi", stream=True, stream_options={"include_usage": True})
    payloads, done = await drain(provider, UpstreamRequest("chat", body, True, "req-2"))
    chunks = [orjson.loads(p) for p in payloads]
    assert done
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello from the recorder."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 60


async def test_native_messages_pass_through_byte_for_byte(
    provider: Provider, upstream: TestServer
) -> None:
    raw = (
        b'{"model":"client-alias", "max_tokens": 10,\n "messages": [{"role": "user", '
        b'"content": "caf\\u00e9"}], "x_unknown": {"deep": [1.50, 2e3]}, "thinking": '
        b'{"type": "enabled", "budget_tokens": 1024}}'
    )
    body = {**orjson.loads(raw), "model": "claude-up"}
    reply = await provider.send(UpstreamRequest("messages", body, False, "req-3", raw=raw))
    assert recorded(upstream)[0]["body"].encode() == raw.replace(b"client-alias", b"claude-up")
    answer = orjson.loads(reply.body)
    assert answer["x_vendor"] == {"trace": [1, 2.5, "three"]}  # returned as it came
    assert answer["type"] == "message" and answer["usage"]["cache_read_input_tokens"] == 30


async def test_native_without_raw_drops_only_keels_stream_options(
    provider: Provider, upstream: TestServer
) -> None:
    body = chat("hi", stream=True, x_unknown=[1, {"a": None}])
    body["stream_options"] = {"include_usage": True}  # what the router adds to every stream
    payloads, done = await drain(provider, UpstreamRequest("messages", body, True, "req-4"))
    sent = orjson.loads(recorded(upstream)[0]["body"])
    assert "stream_options" not in sent and sent["x_unknown"] == [1, {"a": None}]
    assert done
    kinds = [orjson.loads(p)["type"] for p in payloads]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and "ping" in kinds
    deltas = [p for p in payloads if b"text_delta" in p]
    assert deltas and all(b'"x_vendor":1' in p for p in deltas)  # unknown event fields kept


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        ("429", "rate_limit_error", "rate_limited"),
        ("529", "overloaded_error", "server_error"),
        ("503", "api_error", "server_error"),
        ("500", "api_error", "server_error"),
        ("401", "authentication_error", "refused"),
        ("403", "permission_error", "refused"),
        ("400", "invalid_request_error", "bad_request"),
        ("400", "too-long", "context_length"),
    ],
)
@pytest.mark.parametrize("endpoint", ["chat", "messages"])
async def test_error_statuses(
    provider: Provider, endpoint: Endpoint, status: str, kind: str, expected: str
) -> None:
    request = UpstreamRequest(endpoint, chat(f"fail a {status} {kind}"), False, "req-5")
    with pytest.raises(UpstreamStatus) as caught:
        await provider.send(request)
    assert caught.value.kind == expected
    assert caught.value.upstream_status == int(status)
    error = orjson.loads(caught.value.to_body())
    if expected in ("bad_request", "context_length"):  # the upstream's words go back
        assert caught.value.status == 400
        assert ("type" in error) == (endpoint == "messages")  # Anthropic's shape natively


@pytest.mark.parametrize("endpoint", ["chat", "messages"])
async def test_error_event_first_fails_over_like_its_status(
    provider: Provider, endpoint: Endpoint
) -> None:
    request = UpstreamRequest(
        endpoint,
        chat("event-fail a overloaded_error", stream=True),
        True,
        "req-6",
    )
    with pytest.raises(UpstreamStatus) as caught:
        await drain(provider, request)
    assert caught.value.kind == "server_error"


@pytest.mark.parametrize("endpoint", ["chat", "messages"])
async def test_error_event_mid_answer_breaks_the_stream(
    provider: Provider, endpoint: Endpoint
) -> None:
    request = UpstreamRequest(endpoint, chat("break a api_error", stream=True), True, "req-7")
    reply = await provider.send(request)
    assert reply.events is not None
    got: list[bytes] = []
    with pytest.raises(StreamBroken, match="api_error"):
        async for batch in reply.events:
            got.extend(batch)
    assert any(b"recorder" in p for p in got)  # what came before the error went out
    assert not reply.done


async def test_probe_asks_v1_models(provider: Provider, upstream: TestServer) -> None:
    assert await provider.probe() is None

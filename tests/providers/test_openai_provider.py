"""The openai provider against a raw upstream on loopback that frames SSE awkwardly."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from keel.config.schema import DeploymentConfig
from keel.errors import StreamBroken, UpstreamStatus, UpstreamUnavailable
from keel.providers.base import UpstreamRequest
from keel.providers.openai import OpenAIProvider

SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"


class Upstream:
    """Answers one request with ``head`` and then ``writes``, each its own network write."""

    def __init__(self, writes: list[bytes], head: bytes = SSE_HEAD) -> None:
        self.writes = writes
        self.head = head
        self.handlers: set[asyncio.Task[None]] = set()
        self.heads: list[bytes] = []  # each request's line and headers, as received

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def __aexit__(self, *_: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(self.head)
            for part in self.writes:
                writer.write(part)
                await writer.drain()
                await asyncio.sleep(0.01)  # a separate network read on the other side
        finally:
            writer.close()
            await writer.wait_closed()


async def stream(port: int) -> tuple[list[bytes], bool]:
    deployment = DeploymentConfig(
        name="up", provider="openai", model="m", region="r",
        base_url=f"http://127.0.0.1:{port}/v1", timeouts={"first_byte_s": 5, "total_s": 10},
    )  # fmt: skip
    provider = OpenAIProvider(deployment)
    await provider.start()
    try:
        reply = await provider.send(UpstreamRequest("chat", {"stream": True}, True, "req"))
        assert reply.events is not None
        payloads = [p async for batch in reply.events for p in batch]
        return payloads, reply.done
    finally:
        await provider.close()


async def run(writes: list[bytes]) -> tuple[list[bytes], bool]:
    async with Upstream(writes) as port:
        return await stream(port)


async def test_awkward_framing_is_parsed() -> None:
    writes = [
        b": keep-alive comment\r\n\r\n",
        b'event: message\r\nid: 1\r\ndata: {"a":1}\r\n\r\ndata: {"b"',
        b":2}\n\ndata: first line\ndata: second line\n\n",
        b"data:no-space\n\ndata: [DONE]\n\n",
    ]
    payloads, done = await run(writes)
    assert payloads == [b'{"a":1}', b'{"b":2}', b"first line\nsecond line", b"no-space"]
    assert done


async def test_a_last_event_without_its_blank_line_is_kept() -> None:
    payloads, done = await run([b'data: {"a":1}\n\ndata: {"z":9}'])
    assert payloads == [b'{"a":1}', b'{"z":9}'] and not done


async def test_done_without_blank_line_counts() -> None:
    payloads, done = await run([b'data: {"a":1}\n\ndata: [DONE]'])
    assert payloads == [b'{"a":1}'] and done


async def test_a_cut_chunked_stream_is_broken() -> None:
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    first = b'data: {"a":1}\n\n'
    writes = [b"%x\r\n%s\r\n" % (len(first), first), b'30\r\ndata: {"cut']
    async with Upstream(writes, head) as port:
        with pytest.raises(StreamBroken):
            await stream(port)


async def test_error_status_carries_the_upstream_body() -> None:
    body = b'{"error": {"message": "nope", "type": "invalid_request_error"}}'
    head = b"HTTP/1.1 400 Bad Request\r\ncontent-length: %d\r\n\r\n" % len(body)
    async with Upstream([body], head) as port:
        with pytest.raises(UpstreamStatus) as info:
            await stream(port)
    assert info.value.upstream_status == 400 and info.value.body == body
    assert info.value.passthrough and info.value.to_body() == body


async def test_a_refused_connection_is_unavailable() -> None:
    async with Upstream([]) as port:
        pass
    with pytest.raises(UpstreamUnavailable):
        await stream(port)


def deployment(
    base_url: str, more: dict[str, Any] | None = None, **health: Any
) -> DeploymentConfig:
    return DeploymentConfig.model_validate(
        {"name": "gpu1", "provider": "openai", "model": "m", "region": "r", "base_url": base_url,
         "api_key": "sk-up", "health": {"probe": True, "timeout_s": 0.5, **health}, **(more or {})}
    )  # fmt: skip


async def probe(base_url: str, **health: Any) -> str | None:
    provider = OpenAIProvider(deployment(base_url, **health))
    await provider.start()
    try:
        return await provider.probe()
    finally:
        await provider.close()


async def test_probe_gets_the_model_list_with_the_deployments_key() -> None:
    head = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
    upstream = Upstream([], head)
    async with upstream as port:
        assert await probe(f"http://127.0.0.1:{port}/v1") is None
    request = upstream.heads[0].decode().lower()
    assert request.startswith("get /v1/models http/1.1")
    assert "authorization: bearer sk-up" in request


@pytest.mark.parametrize(
    ("models", "reason"),
    [("503", "HTTP 503"), ("429", "HTTP 429"), ("no_answer", "no answer within 0.5s"),
     ("reset", "connection")],
)  # fmt: skip
async def test_probe_says_why_a_deployment_is_unhealthy(
    faults: str, models: str, reason: str
) -> None:
    async with httpx.AsyncClient(base_url=faults) as control:
        (await control.post("/_faults", json={"reset": True})).raise_for_status()
        (await control.post("/_faults", json={"models": models})).raise_for_status()
        result = await probe(faults + "/v1")
        log = (await control.get("/_log")).json()
    assert result is not None and result.startswith(reason)
    # aiohttp may ask again once after a reset (an idempotent GET): still one probe.
    assert {entry["path"] for entry in log} == {"/v1/models"}


async def test_probe_of_a_healthy_upstream_and_of_a_wrong_path(faults: str) -> None:
    async with httpx.AsyncClient(base_url=faults) as control:
        (await control.post("/_faults", json={"reset": True})).raise_for_status()
    assert await probe(faults + "/v1") is None
    assert await probe(faults + "/v1", path="/nothing") == "HTTP 404"


async def test_probe_of_a_refused_connection_or_a_closed_provider() -> None:
    async with Upstream([]) as port:
        pass
    assert await probe(f"http://127.0.0.1:{port}/v1") == "cannot connect: Connection refused"
    assert await OpenAIProvider(deployment("http://127.0.0.1:1/v1")).probe() == "not started"


async def test_a_deployment_busy_at_max_concurrency_still_answers_its_probe(faults: str) -> None:
    settings = {"max_concurrency": 1, "timeouts": {"first_byte_s": 5}}
    provider = OpenAIProvider(deployment(faults + "/v1", settings))
    await provider.start()
    async with httpx.AsyncClient(base_url=faults) as control:
        (await control.post("/_faults", json={"reset": True})).raise_for_status()
        (await control.post("/_faults", json={"plan": ["no_answer"]})).raise_for_status()
        busy = asyncio.create_task(provider.send(UpstreamRequest("chat", {}, False, "r1")))
        for _ in range(500):  # until the upstream holds the one connection
            if (await control.get("/_log")).json():
                break
            await asyncio.sleep(0.01)
        try:
            assert await provider.probe() is None
        finally:
            busy.cancel()
            await provider.close()

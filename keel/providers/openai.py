"""Any OpenAI-compatible server: OpenAI, vLLM, Ollama, llama.cpp, TGI.

One pooled keep-alive ``aiohttp`` session per deployment. The request body is sent as the client
wrote it (only ``model`` differs); the answer comes back as raw bytes or raw SSE payloads.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Mapping
from functools import partial

import aiohttp
import orjson
from yarl import URL

from keel.config.schema import DeploymentConfig
from keel.errors import (
    StreamBroken,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from keel.providers.base import Provider, UpstreamReply, UpstreamRequest
from keel.providers.openai_responses import echoed, echoed_events, upstream_body

__all__ = ["OpenAIProvider"]

_PATHS = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
    "responses": "/responses",
}
# A connection closed without a byte after this much silence is an upstream that gave up on
# the request (a timeout: asking it again only waits as long again), not a stale or refused
# connection (which closes at once, and a retry cures).
SILENT_CLOSE_S = 1.0


class OpenAIProvider(Provider):
    _session: aiohttp.ClientSession | None = None

    def __init__(self, deployment: DeploymentConfig) -> None:
        super().__init__(deployment)
        if deployment.responses_api:
            self.endpoints = self.endpoints | {"responses"}

    async def start(self) -> None:
        d = self.deployment
        timeouts = d.timeouts
        # A health probe gets a connection of its own: one busy with max_concurrency calls
        # in flight must not look down because its probe waited for a free connection.
        limit = d.max_concurrency + (1 if d.health.probe else 0)
        connector = aiohttp.TCPConnector(
            limit=limit, keepalive_timeout=30, enable_cleanup_closed=True
        )
        self._timeout = aiohttp.ClientTimeout(
            total=timeouts.total_s, sock_connect=timeouts.connect_s, sock_read=timeouts.first_byte_s
        )
        self._stream_timeout = aiohttp.ClientTimeout(
            total=timeouts.total_s,
            sock_connect=timeouts.connect_s,
            sock_read=min(timeouts.first_byte_s, timeouts.first_token_s),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"content-type": "application/json", **self._auth_headers()},
            # aiohttp's per-read timeout first bounds the wait for headers; once they are in,
            # ``_pace`` sets it to the limit between reads of the body.
            timeout=self._timeout,
            skip_auto_headers=("User-Agent",),
            json_serialize=lambda obj: orjson.dumps(obj).decode(),
        )
        self._base = (d.base_url or "").rstrip("/")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def probe(self) -> str | None:
        """GET base_url + health.path on the pooled session; any 2xx is healthy."""
        if self._session is None:
            return "not started"
        health = self.deployment.health
        try:
            async with self._session.get(
                self._probe_url(), timeout=aiohttp.ClientTimeout(total=health.timeout_s)
            ) as response:
                await response.read()  # read to the end, so the connection goes back to the pool
        except TimeoutError:
            return f"no answer within {health.timeout_s:g}s"
        except aiohttp.ClientError as exc:
            return _unreachable(exc)
        return None if 200 <= response.status < 300 else f"HTTP {response.status}"

    def _auth_headers(self) -> dict[str, str]:
        """Headers every request of the session carries: the upstream's credentials."""
        key = self.deployment.api_key
        return {} if key is None else {"authorization": f"Bearer {key.get_secret_value()}"}

    def _probe_url(self) -> str:
        return self._base + self.deployment.health.path

    def _url(self, request: UpstreamRequest) -> str:
        return self._base + _PATHS[request.endpoint]

    async def _request_headers(
        self, request: UpstreamRequest, url: str, data: bytes
    ) -> dict[str, str]:
        """Headers of one request (an adapter that signs each request adds them here)."""
        return {"x-request-id": request.request_id}

    def _refusal(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        """The error an answer with this (non-2xx) status and body is, for the router."""
        return UpstreamStatus(
            f"deployment {self.deployment.name} answered HTTP {status}",
            upstream_status=status,
            body=body,
            retry_after_s=_seconds(headers.get("retry-after")),
        )

    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        native_responses = request.endpoint == "responses"
        body = upstream_body(request.body) if native_responses else request.body
        response = await self._post(self._url(request), orjson.dumps(body), request)
        if request.stream and response.status < 300:
            reply = self._streaming(response)
            events = _events(response, reply, self.deployment.name)
            reply.events = echoed_events(events, request.body) if native_responses else events
            return reply
        answer = await self._read(response)
        if native_responses:
            answer = echoed(answer, request.body)
        return UpstreamReply(body=answer, headers=dict(response.headers))

    async def _post(
        self, url: str | URL, data: bytes, request: UpstreamRequest
    ) -> aiohttp.ClientResponse:
        """POST ``data``; the response once its headers are in."""
        if self._session is None:
            raise UpstreamUnavailable(f"deployment {self.deployment.name} is not started")
        name = self.deployment.name
        timeouts = self.deployment.timeouts
        # A stream's first token comes after its headers: waiting for them longer than
        # first_token_s would only find the token late.
        wait, which = timeouts.first_byte_s, "first_byte_s"
        if request.stream and timeouts.first_token_s < wait:
            wait, which = timeouts.first_token_s, "first_token_s"
        headers = await self._request_headers(request, str(url), data)
        if request.trace is not None:
            headers.update(request.trace)
        sent = time.perf_counter()
        try:
            return await self._session.post(
                url,
                data=data,
                headers=headers,
                timeout=self._stream_timeout if request.stream else self._timeout,
            )
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"deployment {name} sent nothing within {which} ({wait:g} s)"
            ) from exc
        except aiohttp.ClientError as exc:
            raise _no_answer(exc, name, time.perf_counter() - sent) from exc

    def _streaming(self, response: aiohttp.ClientResponse) -> UpstreamReply:
        """The reply of a stream whose 2xx headers are in; its ``events`` still to be set."""
        _pace(response, None)  # until the router has the first token (it times that)
        return UpstreamReply(headers=dict(response.headers), pace=partial(_pace, response))

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        """The whole body of a 2xx answer; an error status raised as ``_refusal`` says."""
        name = self.deployment.name
        if not response.content.is_eof():  # the rest of the body is still to come
            _pace(response, self.deployment.timeouts.between_chunks_s)
        if response.status >= 300:
            body = await _read_quietly(response)
            raise self._refusal(response.status, body, response.headers)
        try:
            return await response.read()
        except TimeoutError as exc:
            raise UpstreamTimeout(f"deployment {name} stalled mid-answer") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"deployment {name} cut the answer: {exc}") from exc


def _pace(response: aiohttp.ClientResponse, seconds: float | None) -> None:
    """From now on, the longest silence allowed between two reads of this answer (None: no
    limit). The same property aiohttp sets for its own websockets; each request resets it."""
    connection = response.connection
    protocol = connection.protocol if connection is not None else None
    if protocol is not None:
        protocol.read_timeout = seconds
        protocol.start_timeout()


def _no_answer(exc: aiohttp.ClientError, name: str, silence_s: float) -> UpstreamError:
    """A connection that ended before the response headers: refused or reset at once, or
    closed after a silence."""
    closed = isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError)
    if closed and not isinstance(exc, aiohttp.ClientConnectorError) and silence_s >= SILENT_CLOSE_S:
        return UpstreamTimeout(
            f"deployment {name} closed the connection after {silence_s:.1f} s without an answer"
        )
    return UpstreamUnavailable(f"deployment {name} is unreachable: {exc}")


def _seconds(value: str | None) -> float | None:
    """A Retry-After in seconds (the HTTP-date form is rare from model servers: ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _unreachable(exc: aiohttp.ClientError) -> str:
    """A short reason for a probe's log line: aiohttp's own messages run long."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error  # its strerror is asyncio's "Connect call failed (…)": say why
        return f"cannot connect: {os.strerror(error.errno) if error.errno else error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed without an answer"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"connection failed: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _data(block: bytes) -> bytes | None:
    """The data of one SSE event; multi-line data joined by newlines. Comments (":"), "event:",
    "id:" and "retry:" lines carry nothing OpenAI clients read."""
    lines = [line for line in block.split(b"\n") if line.startswith(b"data:")]
    if not lines:
        return None
    return b"\n".join(line[6:] if line[5:6] == b" " else line[5:] for line in lines)


async def _read_quietly(response: aiohttp.ClientResponse) -> bytes:
    try:
        return await response.read()
    except (aiohttp.ClientError, TimeoutError):
        return b""
    finally:
        response.release()


async def _events(
    response: aiohttp.ClientResponse, reply: UpstreamReply, name: str
) -> AsyncIterator[list[bytes]]:
    """Yield the SSE ``data:`` payloads of each network read as soon as it arrives."""
    buffer = b""
    try:
        async for chunk in response.content.iter_any():
            buffer += chunk.replace(b"\r\n", b"\n") if b"\r" in chunk else chunk
            *blocks, buffer = buffer.split(b"\n\n")
            payloads = [p for p in map(_data, blocks) if p is not None]
            if payloads and payloads[-1] == b"[DONE]":
                reply.done = True
                payloads.pop()
            if payloads:
                yield payloads
            if reply.done:
                return
        last = _data(buffer)  # an upstream may close without the final blank line
        if last == b"[DONE]":
            reply.done = True
        elif last is not None:
            yield [last]
    except TimeoutError as exc:
        raise StreamBroken(f"deployment {name} stalled mid-stream") from exc
    except aiohttp.ClientError as exc:
        raise StreamBroken(f"deployment {name} cut the stream: {exc}") from exc
    finally:
        response.release()

"""AWS Bedrock's Converse and ConverseStream APIs, SigV4-signed with botocore's signer.

``POST /model/{modelId}/converse`` (and ``/converse-stream``) on the region's runtime
endpoint. The client's Chat Completions body is translated to Converse (``bedrock_wire``) and
the answer back; a stream comes in AWS's binary event-stream framing, decoded by botocore's
parser, each event re-told as a Chat Completions chunk. Credentials come from the deployment's
``aws`` keys, else botocore's standard chain (environment, shared files, instance role).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.eventstream import EventStreamBuffer, EventStreamMessage, ParserError
from botocore.session import Session
from yarl import URL

from keel.errors import StreamBroken, UpstreamError
from keel.providers.base import UpstreamReply, UpstreamRequest
from keel.providers.bedrock_wire import finish_reason, to_converse, to_openai, usage
from keel.providers.openai import OpenAIProvider, _seconds
from keel.providers.refusals import Untranslatable, refusal, request_fault

__all__ = ["BedrockProvider"]

# Temporary credentials (a role) are frozen again this often; botocore refreshes them well
# before they expire, and doing so can mean a network call: off the event loop.
_REFREEZE_S = 300.0
# Bedrock's exception names (lowercased, without "exception") by the status keel treats them as.
_STATUS = {
    "throttling": 429,
    "modelnotready": 429,
    "serviceunavailable": 503,
    "internalserver": 500,
    "modelstreamerror": 502,
    "modeltimeout": 504,
    "modelerror": 502,
    "validation": 400,
    "accessdenied": 403,
    "resourcenotfound": 404,
    "unrecognizedclient": 401,
    "expiredtoken": 401,
    "invalidsignature": 401,
    "servicequotaexceeded": 429,
}


class BedrockProvider(OpenAIProvider):
    """One Bedrock model (chat), by model id, inference profile or ARN."""

    endpoints = frozenset({"chat"})
    translates = frozenset({"chat"})
    _credentials: Credentials | None = None
    _frozen: ReadOnlyCredentials | None = None
    _frozen_at = 0.0

    async def start(self) -> None:
        await super().start()
        aws = self.deployment.aws
        assert aws is not None  # the config refuses a bedrock deployment without it
        self._region = aws.region
        base = self.deployment.base_url or f"https://bedrock-runtime.{aws.region}.amazonaws.com"
        self._base = base.rstrip("/")
        # An ARN or profile id holds ":" and "/": one path segment, percent-encoded.
        self._path = f"/model/{quote(self.deployment.model, safe='')}/"
        if aws.access_key_id is not None and aws.secret_access_key is not None:
            token = aws.session_token.get_secret_value() if aws.session_token else None
            self._credentials = Credentials(
                aws.access_key_id.get_secret_value(),
                aws.secret_access_key.get_secret_value(),
                token,
            )
        else:
            self._credentials = await asyncio.to_thread(Session().get_credentials)

    async def probe(self) -> str | None:
        return None  # no free call on the runtime endpoint; the breaker watches real calls

    def _auth_headers(self) -> dict[str, str]:
        return {}  # each request is signed on its own

    def _url(self, request: UpstreamRequest) -> str:
        operation = "converse-stream" if request.stream else "converse"
        return self._base + self._path + operation

    async def _request_headers(
        self, request: UpstreamRequest, url: str, data: bytes
    ) -> dict[str, str]:
        signed = AWSRequest("POST", url, {"content-type": "application/json"}, data)
        SigV4Auth(await self._frozen_credentials(), "bedrock", self._region).add_auth(signed)
        return {**dict(signed.headers.items()), "x-request-id": request.request_id}

    async def _frozen_credentials(self) -> ReadOnlyCredentials:
        if self._credentials is None:
            raise refusal(
                self.deployment.name,
                401,
                "keel found no AWS credentials: set aws.access_key_id "
                "and aws.secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                "give keel a role",
                "no_credentials",
            )
        if self._frozen is None or time.monotonic() - self._frozen_at > _REFREEZE_S:
            self._frozen = await asyncio.to_thread(self._credentials.get_frozen_credentials)
            self._frozen_at = time.monotonic()
        return self._frozen

    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        name = self.deployment.name
        try:
            body = to_converse(request.body)
        except Untranslatable as exc:
            raise refusal(name, 400, str(exc), "unsupported_parameter", param=exc.field) from None
        url = URL(self._url(request), encoded=True)  # signed as written: never re-quoted
        response = await self._post(url, orjson.dumps(body), request)
        if request.stream and response.status < 300:
            reply = self._streaming(response)
            chunks = _Chunks(self.deployment.model, request.request_id, name)
            reply.events = _translated(response, chunks, reply)
            return reply
        raw = await self._read(response)
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError(f"deployment {name} sent an answer that is not JSON") from exc
        translated = to_openai(answer, self.deployment.model, request.request_id)
        return UpstreamReply(body=orjson.dumps(translated), headers=dict(response.headers))

    def _refusal(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        kind = headers.get("x-amzn-errortype", "").split(":", 1)[0]
        retry_after = _seconds(headers.get("retry-after"))
        return _aws_error(self.deployment.name, status, kind, _message(body), retry_after)


def _aws_error(
    name: str, status: int, kind: str, message: str, retry_after_s: float | None = None
) -> UpstreamError:
    """An AWS exception (``ThrottlingException``, ``validationException`` …) as keel's error."""
    word = kind.lower().removesuffix("exception")
    status = _STATUS.get(word, status)
    code = request_fault(message) if status == 400 else (kind or f"http_{status}")
    return refusal(name, status, message or kind, code, retry_after_s=retry_after_s)


def _message(body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:500].decode("utf-8", "replace")
    if isinstance(parsed, dict):
        return str(parsed.get("message") or parsed.get("Message") or "")
    return ""


class _Chunks:
    """ConverseStream's events as Chat Completions chunks: role, text, reasoning and
    tool-call deltas, the finish (messageStop), then the usage chunk (metadata)."""

    def __init__(self, model: str, request_id: str, name: str) -> None:
        self.base = {
            "id": f"chatcmpl-{request_id}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        self.name = name
        self.started = False  # an answer's token went out
        self.finished = False
        self.tools: dict[int, int] = {}  # content block index -> tool call index

    def feed(self, message: EventStreamMessage) -> list[dict[str, Any]]:
        headers = message.headers
        kind = headers.get(":message-type")
        if kind != "event":
            self._fail(headers, message.payload)
        event = orjson.loads(message.payload) if message.payload else {}
        handler = _HANDLERS.get(headers.get(":event-type", ""))
        return handler(self, event) if handler is not None else []

    def _delta(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {**self.base, "choices": [choice]}

    def _start(self, _: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._delta({"role": "assistant", "content": ""})]

    def _block_start(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        use = (event.get("start") or {}).get("toolUse")
        if use is None:
            return []
        index = self.tools[event.get("contentBlockIndex", 0)] = len(self.tools)
        self.started = True
        call = {
            "index": index,
            "id": use.get("toolUseId", ""),
            "type": "function",
            "function": {"name": use.get("name", ""), "arguments": ""},
        }
        return [self._delta({"tool_calls": [call]})]

    def _block_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta") or {}
        if "text" in delta:
            self.started = True
            return [self._delta({"content": delta["text"]})]
        if "toolUse" in delta:
            index = self.tools.get(event.get("contentBlockIndex", 0), 0)
            call = {"index": index, "function": {"arguments": delta["toolUse"].get("input", "")}}
            return [self._delta({"tool_calls": [call]})]
        text = (delta.get("reasoningContent") or {}).get("text")
        return [self._delta({"reasoning_content": text})] if text else []

    def _stop(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        self.finished = True
        return [self._delta({}, finish_reason(event.get("stopReason")))]

    def _metadata(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**self.base, "choices": [], "usage": usage(event.get("usage") or {})}]

    def _fail(self, headers: dict[str, Any], payload: bytes) -> None:
        kind = headers.get(":exception-type") or headers.get(":error-code") or ""
        text = _message(payload) or str(headers.get(":error-message", ""))
        error = _aws_error(self.name, 500, str(kind), text)
        if self.started:  # tokens already went out: a break that a fallback may resume
            raise StreamBroken(f"deployment {self.name} failed mid-stream: {error.message}")
        raise error


_HANDLERS = {
    "messageStart": _Chunks._start,
    "contentBlockStart": _Chunks._block_start,
    "contentBlockDelta": _Chunks._block_delta,
    "messageStop": _Chunks._stop,
    "metadata": _Chunks._metadata,
}


async def _translated(
    response: aiohttp.ClientResponse, chunks: _Chunks, reply: UpstreamReply
) -> AsyncIterator[list[bytes]]:
    """The event-stream frames of each network read, translated; ``reply.done`` once the
    message has stopped."""
    frames = EventStreamBuffer()
    name = chunks.name
    try:
        async for data in response.content.iter_any():
            frames.add_data(data)
            out = [orjson.dumps(c) for message in frames for c in chunks.feed(message)]
            if chunks.finished:
                reply.done = True
            if out:
                yield out
    except TimeoutError as exc:
        raise StreamBroken(f"deployment {name} stalled mid-stream") from exc
    except aiohttp.ClientError as exc:
        raise StreamBroken(f"deployment {name} cut the stream: {exc}") from exc
    except (ParserError, orjson.JSONDecodeError) as exc:
        raise StreamBroken(f"deployment {name} sent a malformed event: {exc}") from exc
    finally:
        response.release()

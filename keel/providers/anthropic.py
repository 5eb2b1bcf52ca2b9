"""Anthropic's Messages API (``POST {base_url}/v1/messages``), for two kinds of call.

``chat``: a Chat Completions request translated to a Messages request, and the message (or the
stream of events) translated back into a chat completion (or its chunks), so an OpenAI client
reaches a Claude model and keel meters, guards and fails over the call like any other.
``messages``: a native Messages call, passed through: only ``model`` is changed in the body the
client wrote, and the answer (or each stream event's ``data:`` payload) comes back as sent.

The pooled session, timeouts, pacing and SSE framing are the ``openai`` adapter's; this adds the
headers, the translation and the mapping of Anthropic's errors onto keel's failure kinds.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson

from keel.errors import UpstreamError
from keel.providers.anthropic_reply import ChunkStream, stream_error, to_completion, upstream_error
from keel.providers.anthropic_request import to_messages
from keel.providers.base import UpstreamReply, UpstreamRequest
from keel.providers.openai import OpenAIProvider, _events, _read_quietly, _seconds

__all__ = ["AnthropicProvider", "with_model"]

# A JSON string (escapes included) or a bracket: enough of a tokenizer to find the top level.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]]')
_COLON = re.compile(rb"\s*:\s*")


class _Step(Protocol):
    done: bool

    def one(self, payload: bytes) -> bytes | None: ...


class AnthropicProvider(OpenAIProvider):
    """An Anthropic Messages API deployment (``provider: anthropic``)."""

    endpoints = frozenset({"chat", "messages"})
    translates = frozenset({"chat"})

    def _auth_headers(self) -> dict[str, str]:
        d = self.deployment
        headers = {"anthropic-version": d.anthropic.version}
        if d.api_key is not None:
            headers["x-api-key"] = d.api_key.get_secret_value()
        if d.anthropic.beta:
            headers["anthropic-beta"] = ",".join(d.anthropic.beta)
        return headers

    def _probe_url(self) -> str:
        health = self.deployment.health
        return self._base + (health.path if "path" in health.model_fields_set else "/v1/models")

    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        chat = request.endpoint == "chat"
        if chat:
            body = orjson.dumps(to_messages(request.body, self.deployment.anthropic.max_tokens))
        else:
            body = _native_body(request)
        name = self.deployment.name
        response = await self._post(self._base + "/v1/messages", body, request)
        if response.status >= 300:
            # Chat clients get the error in OpenAI's shape, native ones in Anthropic's.
            error = await _read_quietly(response)
            retry_after = _seconds(response.headers.get("retry-after"))
            raise upstream_error(response.status, error, name, chat, retry_after)
        if request.stream:
            reply = self._streaming(response)
            step: _Step = ChunkStream(name, _wants_usage(request.body)) if chat else _Native(name)
            reply.events = _translated(reply, _events(response, reply, name), step)
            return reply
        reply = UpstreamReply(body=await self._read(response), headers=dict(response.headers))
        if chat:
            reply.body = to_completion(reply.body, name)
        return reply


def with_model(raw: bytes, model: str) -> bytes | None:
    """``raw`` (a JSON object) with the value of its top-level ``model`` replaced and every
    other byte as it was; None if it has no top-level ``model`` string to replace."""
    depth = 0
    tokens = _TOKEN.finditer(raw)
    for token in tokens:
        text = token.group()
        if text in (b"{", b"["):
            depth += 1
        elif text in (b"}", b"]"):
            depth -= 1
        elif depth == 1 and text == b'"model"':
            colon = _COLON.match(raw, token.end())
            if colon is None:
                continue  # the string "model" as a value, not the key
            value = next(tokens, None)
            if value is None or value.start() != colon.end() or value.group()[:1] != b'"':
                return None  # not a string: nothing to edit in place
            return raw[: value.start()] + orjson.dumps(model) + raw[value.end() :]
    return None


def _native_body(request: UpstreamRequest) -> bytes:
    """What a native call sends: the client's bytes with only ``model`` changed, when the
    edge kept them; else the body encoded (the same fields in the same order and the same
    values, though a number or an escape may be spelt differently)."""
    model = request.body.get("model")
    if request.raw is not None and isinstance(model, str):
        edited = with_model(request.raw, model)
        if edited is not None:
            return edited
    body = request.body
    if request.stream and "stream_options" in body:
        # keel's own request for a usage chunk, which Anthropic's stream has without asking
        # (and would refuse as an unknown field).
        body = {k: v for k, v in body.items() if k != "stream_options"}
    return orjson.dumps(body)


def _wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


class _Native:
    """A native stream's events, passed on as they are; watched for its end and errors."""

    __slots__ = ("done", "name", "started")

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = False
        self.done = False

    def one(self, payload: bytes) -> bytes | None:
        # Only an event that may be an error or the end is parsed: the edge parses each once.
        if b'"error"' in payload and _type(payload) == "error":
            raise stream_error(payload, self.name, False, self.started)
        if b"content_block_delta" in payload:
            self.started = True
        elif b'"message_stop"' in payload and _type(payload) == "message_stop":
            self.done = True
        return payload


def _type(payload: bytes) -> Any:
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return event.get("type") if isinstance(event, dict) else None


async def _translated(
    reply: UpstreamReply, source: AsyncIterator[list[bytes]], step: _Step
) -> AsyncIterator[list[bytes]]:
    """The stream's payloads through ``step``, batch by batch; what came before an error
    event in its batch still goes out, then the error is raised."""
    try:
        async for payloads in source:
            out: list[bytes] = []
            failure: UpstreamError | None = None
            for payload in payloads:
                try:
                    translated = step.one(payload)
                except UpstreamError as exc:
                    failure = exc
                    break
                if translated is not None:
                    out.append(translated)
            if out:
                yield out
            if failure is not None:
                raise failure
            if step.done:
                reply.done = True
                return
    finally:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()

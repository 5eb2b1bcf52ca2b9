"""Google Gemini's REST API: ``generateContent`` and ``streamGenerateContent?alt=sse``.

The client's Chat Completions body is translated to Gemini's (``gemini_wire``), the answer and
each streamed event back to Chat Completions, so keel's stages read Gemini like any upstream.
The API key goes in ``x-goog-api-key``. The openai adapter's pooled session, timeouts and SSE
reader carry the bytes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import orjson

from keel.errors import StreamBroken, UpstreamError
from keel.providers.base import UpstreamReply, UpstreamRequest
from keel.providers.gemini_wire import (
    finish_reason,
    split_parts,
    to_gemini,
    to_openai,
    usage,
)
from keel.providers.openai import OpenAIProvider, _events, _seconds
from keel.providers.refusals import CONTENT_POLICY, Untranslatable, refusal, request_fault

__all__ = ["GeminiProvider"]

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
# Gemini's status words by the HTTP status keel should treat them as.
_STATUS = {
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "INTERNAL": 500,
    "DEADLINE_EXCEEDED": 504,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
}


class GeminiProvider(OpenAIProvider):
    """One Gemini model (chat)."""

    endpoints = frozenset({"chat"})
    translates = frozenset({"chat"})

    async def start(self) -> None:
        await super().start()
        self._base = (self.deployment.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._model = quote(self.deployment.model.removeprefix("models/"), safe="")

    def _auth_headers(self) -> dict[str, str]:
        key = self.deployment.api_key
        return {} if key is None else {"x-goog-api-key": key.get_secret_value()}

    def _probe_url(self) -> str:
        """The model's metadata: free, and answers only with a working key."""
        return f"{self._base}/models/{self._model}"

    def _url(self, request: UpstreamRequest) -> str:
        if request.stream:
            return f"{self._base}/models/{self._model}:streamGenerateContent?alt=sse"
        return f"{self._base}/models/{self._model}:generateContent"

    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        name = self.deployment.name
        try:
            body = to_gemini(request.body)
        except Untranslatable as exc:
            raise refusal(name, 400, str(exc), "unsupported_parameter", param=exc.field) from None
        response = await self._post(self._url(request), orjson.dumps(body), request)
        if request.stream and response.status < 300:
            reply = self._streaming(response)
            chunks = _Chunks(self.deployment.model, request.request_id, name)
            reply.events = _translated(_events(response, reply, name), chunks, reply)
            return reply
        answer = _json(await self._read(response), name)
        _check_blocked(answer, name)
        translated = to_openai(answer, self.deployment.model, request.request_id)
        return UpstreamReply(body=orjson.dumps(translated), headers=dict(response.headers))

    def _refusal(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        return _gemini_error(
            self.deployment.name, status, body, _seconds(headers.get("retry-after"))
        )


def _gemini_error(
    name: str, status: int, body: bytes, retry_after_s: float | None = None
) -> UpstreamError:
    """Gemini's ``{"error": {"code", "message", "status"}}`` as keel's error of that kind."""
    try:
        error = orjson.loads(body).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        error = {}
    message = str(error.get("message") or body[:500].decode("utf-8", "replace"))
    word = str(error.get("status") or "")
    status = _STATUS.get(word, status)
    if status == 400 and ("API key not valid" in message or "API_KEY_INVALID" in message):
        status = 401  # Gemini says a bad key is a bad argument: it is keel's credential
    code = request_fault(message) if status == 400 else (word.lower() or f"http_{status}")
    return refusal(name, status, message, code, retry_after_s=retry_after_s)


def _json(raw: bytes, name: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise UpstreamError(f"deployment {name} sent an answer that is not a JSON object")
    return value


def _check_blocked(answer: dict[str, Any], name: str) -> None:
    """A prompt Gemini blocked has no candidate at all: a content-policy refusal."""
    reason = (answer.get("promptFeedback") or {}).get("blockReason")
    if reason and not answer.get("candidates"):
        message = f"Gemini blocked the prompt ({reason}). Change the prompt."
        raise refusal(name, 400, message, CONTENT_POLICY)


class _Chunks:
    """Gemini's streamed answers, each a partial GenerateContentResponse, as Chat Completions
    chunks: a role first, text and tool-call deltas, the finish, then the usage chunk."""

    def __init__(self, model: str, request_id: str, name: str) -> None:
        self.base = {
            "id": f"chatcmpl-{request_id}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        self.name = name
        self.started = False
        self.finished = False
        self.calls = 0  # tool calls so far: each gets the next index

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if "error" in event:
            self._fail(event)
        _check_blocked(event, self.name)
        out = []
        self.base["model"] = event.get("modelVersion") or self.base["model"]
        for candidate in event.get("candidates") or []:
            out += self._candidate(candidate)
        if self.finished:
            out.append(
                {**self.base, "choices": [], "usage": usage(event.get("usageMetadata") or {})}
            )
        return out

    def _candidate(self, candidate: dict[str, Any]) -> list[dict[str, Any]]:
        text, reasoning, calls = split_parts(candidate, self.calls)
        self.calls += len(calls)
        delta: dict[str, Any] = {}
        if not self.started:
            delta["role"] = "assistant"
            self.started = True
        if text:
            delta["content"] = text
        if reasoning:
            delta["reasoning_content"] = reasoning
        if calls:
            delta["tool_calls"] = calls
        reason = finish_reason(candidate.get("finishReason"), self.calls > 0)
        index = candidate.get("index", 0)
        out = []
        if delta:
            out.append(
                {**self.base, "choices": [{"index": index, "delta": delta, "finish_reason": None}]}
            )
        if reason is not None:
            self.finished = True
            out.append(
                {**self.base, "choices": [{"index": index, "delta": {}, "finish_reason": reason}]}
            )
        return out

    def _fail(self, event: dict[str, Any]) -> None:
        error = _gemini_error(self.name, 500, orjson.dumps(event))
        if self.started:  # text already went out: a break that a fallback may resume
            raise StreamBroken(f"deployment {self.name} failed mid-stream: {error.message}")
        raise error


async def _translated(
    source: AsyncIterator[list[bytes]], chunks: _Chunks, reply: UpstreamReply
) -> AsyncIterator[list[bytes]]:
    """The SSE payloads of ``source`` translated; ``reply.done`` once Gemini has finished."""
    try:
        async for payloads in source:
            out = [orjson.dumps(c) for p in payloads for c in chunks.feed(_json(p, chunks.name))]
            if out:
                yield out
            if chunks.finished:
                reply.done = True
    finally:
        await source.aclose()  # type: ignore[attr-defined]

"""Anthropic's answers in keel's terms: a message as a chat completion, a stream's events as
chat completion chunks, an error (a status, or an ``error`` event) as a keel ``UpstreamError``.

Usage counts every prompt token, cached or not: Anthropic's ``input_tokens`` leaves out the
tokens read from (``cache_read_input_tokens``) and written to (``cache_creation_input_tokens``)
its prompt cache, which OpenAI's ``prompt_tokens`` includes; the cache reads are the
``cached_tokens`` keel prices cheaper.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from keel.errors import StreamBroken, UpstreamError, UpstreamStatus

__all__ = ["ChunkStream", "openai_usage", "stream_error", "to_completion", "upstream_error"]

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# The HTTP status each error type comes with, for an error that arrives as a stream event.
_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def openai_usage(usage: Any) -> dict[str, Any]:
    """Anthropic's usage as OpenAI's (see the module's docstring)."""
    usage = usage if isinstance(usage, dict) else {}
    read = _count(usage, "cache_read_input_tokens")
    prompt = _count(usage, "input_tokens") + read + _count(usage, "cache_creation_input_tokens")
    completion = _count(usage, "output_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read},
    }


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def to_completion(raw: bytes, name: str) -> bytes:
    """An Anthropic message (the upstream's answer) as a chat completion body."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        message = None
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise UpstreamError(f"deployment {name} answered with something that is not a message")
    text: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message["content"]:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            text.append(block.get("text") or "")
        elif kind == "thinking":
            thinking.append(block.get("thinking") or "")
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            function = {"name": block.get("name"), "arguments": arguments}
            calls.append({"id": block.get("id"), "type": "function", "function": function})
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
    if thinking:
        reply["reasoning_content"] = "".join(thinking)
    if calls:
        reply["tool_calls"] = calls
    finish = FINISH.get(message.get("stop_reason") or "end_turn", "stop")
    choice = {"index": 0, "message": reply, "finish_reason": finish, "logprobs": None}
    completion = {
        "id": message.get("id"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message.get("model"),
        "choices": [choice],
        "usage": openai_usage(message.get("usage")),
    }
    return orjson.dumps(completion)


def upstream_error(
    status: int, body: bytes, name: str, chat: bool, retry_after_s: float | None = None
) -> UpstreamStatus:
    """An Anthropic error answer as keel's error. For a chat call the body is rewritten in
    OpenAI's error shape (a 4xx about the request goes back to the client as its body); for a
    native call it stays Anthropic's own."""
    kind, message = _error_fields(body)
    label = f" ({kind})" if kind else ""
    if chat:
        too_long = message.startswith("prompt is too long")
        code = "context_length_exceeded" if too_long else kind or None
        error = {
            "message": message or f"HTTP {status}",
            "type": kind or "api_error",
            "code": code,
            "param": "messages" if too_long else None,
        }
        body = orjson.dumps({"error": error})
    return UpstreamStatus(
        f"deployment {name} answered HTTP {status}{label}",
        upstream_status=status,
        body=body,
        retry_after_s=retry_after_s,
    )


def stream_error(payload: bytes, name: str, chat: bool, started: bool) -> UpstreamError:
    """A stream's ``error`` event: before any of the answer, the error its type stands for
    (so a rate limit or an overload fails over as it would as a status); after some of it, a
    broken stream, which keel resumes where it can."""
    kind, message = _error_fields(payload)
    if started:
        return StreamBroken(f"deployment {name} broke off the stream: {kind}: {message}")
    return upstream_error(_STATUS.get(kind, 500), payload, name, chat)


def _error_fields(body: bytes) -> tuple[str, str]:
    """The ``error.type`` and ``error.message`` of an Anthropic error body ('' if absent)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", body[:200].decode("utf-8", "replace")
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("type") or ""), str(error.get("message") or "")


class ChunkStream:
    """One stream's translation, event by event, into chat completion chunk payloads."""

    __slots__ = (
        "created",
        "done",
        "id",
        "include_usage",
        "model",
        "name",
        "started",
        "tools",
        "usage",
    )

    def __init__(self, name: str, include_usage: bool) -> None:
        self.name = name
        self.include_usage = include_usage
        self.id = ""
        self.model = ""
        self.created = int(time.time())
        self.usage: dict[str, Any] = {}
        self.tools: dict[int, int] = {}  # content block index -> tool_calls index
        self.started = False  # a part of the answer went out: an error now breaks the stream
        self.done = False  # message_stop seen

    def one(self, payload: bytes) -> bytes | None:
        """The chunk for one event (None: the event has none); an error event raises."""
        chunk = self._chunk(payload)
        return None if chunk is None else orjson.dumps(chunk)

    def _chunk(self, payload: bytes) -> dict[str, Any] | None:
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            event = None
        if not isinstance(event, dict):
            raise StreamBroken(f"deployment {self.name} sent a stream event that is not JSON")
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._delta(event.get("index"), event.get("delta") or {})
        if kind == "content_block_start":
            return self._block(event.get("index"), event.get("content_block") or {})
        if kind == "message_start":
            return self._start(event.get("message") or {})
        if kind == "message_delta":
            self.usage.update(event.get("usage") or {})
            reason = (event.get("delta") or {}).get("stop_reason")
            self.started = True
            return self._wrap({}, FINISH.get(reason or "end_turn", "stop"))
        if kind == "message_stop":
            self.done = True
            if not self.include_usage:
                return None
            return {**self._wrap({}), "choices": [], "usage": openai_usage(self.usage)}
        if kind == "error":
            raise stream_error(payload, self.name, True, self.started)
        return None  # ping, content_block_stop, and event types added later

    def _start(self, message: dict[str, Any]) -> dict[str, Any]:
        self.id = str(message.get("id") or "")
        self.model = str(message.get("model") or "")
        self.usage.update(message.get("usage") or {})
        return self._wrap({"role": "assistant", "content": ""})

    def _block(self, index: Any, block: dict[str, Any]) -> dict[str, Any] | None:
        if block.get("type") == "tool_use":
            self.tools[index] = position = len(self.tools)
            function = {"name": block.get("name"), "arguments": ""}
            call = {
                "index": position,
                "id": block.get("id"),
                "type": "function",
                "function": function,
            }
            self.started = True
            return self._wrap({"tool_calls": [call]})
        if block.get("type") == "text" and block.get("text"):
            self.started = True
            return self._wrap({"content": block["text"]})
        return None

    def _delta(self, index: Any, delta: dict[str, Any]) -> dict[str, Any] | None:
        kind = delta.get("type")
        if kind == "text_delta":
            part: dict[str, Any] = {"content": delta.get("text") or ""}
        elif kind == "input_json_delta" and index in self.tools:
            arguments = {"arguments": delta.get("partial_json") or ""}
            part = {"tool_calls": [{"index": self.tools[index], "function": arguments}]}
        elif kind == "thinking_delta":
            part = {"reasoning_content": delta.get("thinking") or ""}
        else:
            return None  # a thinking block's signature, citations: nothing a chat client reads
        self.started = True
        return self._wrap(part)

    def _wrap(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        }

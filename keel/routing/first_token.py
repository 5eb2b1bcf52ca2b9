"""A stream goes to the client only once its first token is in.

Until then nothing has been sent, so a deployment that fails, stalls, ends early or reports an
error before its first token is failed over like one that never answered. What was read to get
there is kept on the reply and forwarded first.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from keel.config.schema import TimeoutsConfig
from keel.errors import StreamBroken, UpstreamError, UpstreamTimeout
from keel.providers.base import UpstreamReply

__all__ = ["await_first_token", "starts_answer"]

# Delta fields besides content that carry an answer; a chunk with only a role (or empty
# content) does not.
_ANSWER_FIELDS = ("text", "tool_calls", "function_call", "refusal", "reasoning_content")


async def await_first_token(
    reply: UpstreamReply, timeouts: TimeoutsConfig, name: str, started: float
) -> None:
    """Read the stream up to its first token, within ``first_token_s`` of ``started``."""
    events = reply.events
    assert events is not None
    wait = timeouts.first_token_s - (time.perf_counter() - started)
    try:
        async with asyncio.timeout(max(wait, 0.0)):
            async for payloads in events:
                reply.prefetched.append(payloads)
                if _first_token_in(payloads, name):
                    break
            else:
                if not reply.done:
                    raise StreamBroken(f"deployment {name} ended the stream before its first token")
    except TimeoutError:
        await _close(events)
        raise UpstreamTimeout(
            f"deployment {name} sent no token within first_token_s ({timeouts.first_token_s:g} s)"
        ) from None
    except BaseException:
        await _close(events)
        raise
    if reply.pace is not None:
        reply.pace(timeouts.between_chunks_s)


def _first_token_in(payloads: list[bytes], name: str) -> bool:
    for payload in payloads:
        event = _event(payload)
        if event is None:
            continue
        error = event.get("error")
        if isinstance(error, dict):
            message = error.get("message", "unknown error")
            raise UpstreamError(f"deployment {name} failed before its first token: {message}")
        if starts_answer(event):
            return True
    return False


def starts_answer(event: dict[str, Any]) -> bool:
    """Does this chunk carry part of an answer (text, a tool call, a finish)?"""
    choices = event.get("choices")
    if not isinstance(choices, list):
        return False
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        if choice.get("finish_reason"):
            return True
        delta = choice.get("delta")
        part = delta if isinstance(delta, dict) else choice  # completions put text on the choice
        if part.get("content") or any(part.get(f) for f in _ANSWER_FIELDS):
            return True
    return False


def _event(payload: bytes) -> dict[str, Any] | None:
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None  # skipped here; the meter counts it when it is forwarded
    return event if isinstance(event, dict) else None


async def _close(events: Any) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()

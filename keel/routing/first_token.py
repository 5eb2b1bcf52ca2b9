"""A stream goes to the client only once its first token is in.

Until then nothing has been sent, so a deployment that fails, stalls, ends early or reports an
error before its first token is failed over like one that never answered. What was read to get
there is kept on the reply and forwarded first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, cast

from keel.answer import Event, starts_answer
from keel.config.schema import TimeoutsConfig
from keel.errors import StreamBroken, UpstreamError, UpstreamTimeout
from keel.providers.base import UpstreamReply

__all__ = ["await_first_token", "close_events", "parse"]


async def await_first_token(
    reply: UpstreamReply,
    timeouts: TimeoutsConfig,
    name: str,
    started: float,
    starts: Callable[[dict[str, Any]], bool] = starts_answer,
) -> None:
    """Read the stream up to its first token, within ``first_token_s`` of ``started``;
    ``starts`` says which event carries it (the client protocol's reader)."""
    events = reply.events
    assert events is not None
    wait = timeouts.first_token_s - (time.perf_counter() - started)
    try:
        async with asyncio.timeout(max(wait, 0.0)):
            async for payloads in events:
                read = parse(payloads, reply.parsed)  # once, for every reader
                reply.prefetched.append(read)
                if _first_token_in(read, name, starts):
                    break
            else:
                if not reply.done:
                    raise StreamBroken(f"deployment {name} ended the stream before its first token")
    except TimeoutError:
        await close_events(events)
        raise UpstreamTimeout(
            f"deployment {name} sent no token within first_token_s ({timeouts.first_token_s:g} s)"
        ) from None
    except BaseException:
        await close_events(events)
        raise
    if reply.pace is not None:
        reply.pace(timeouts.between_chunks_s)


def _first_token_in(
    events: list[Event], name: str, starts: Callable[[dict[str, Any]], bool]
) -> bool:
    for event in events:
        data = event.data
        if data is None:
            continue  # skipped here; the meter counts it when it is forwarded
        error = data.get("error")
        if isinstance(error, dict):
            message = error.get("message", "unknown error")
            raise UpstreamError(f"deployment {name} failed before its first token: {message}")
        if starts(data):
            return True
    return False


async def close_events(events: Any) -> None:
    """Close an upstream's stream of events (an async generator, or anything with aclose)."""
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


def parse(payloads: list[bytes] | list[Event], parsed: bool) -> list[Event]:
    """An upstream's payloads as events, each parsed here once for every reader (``parsed``:
    a translator made them as events already)."""
    if parsed:
        return cast("list[Event]", payloads)
    return [Event(p) for p in cast("list[bytes]", payloads)]

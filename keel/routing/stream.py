"""A routed stream: the upstream's events as they come, carried on elsewhere when it breaks.

The router hands a stream over once its first token is in (routing/first_token.py). From then
on, a stream that is cut, ends before its answer is finished or reports an error is resumed on
another deployment of the model where it can be (routing/resume.py): its attempt is marked
broken, the fallback's events are spliced on, and a ``Resumed`` item says so. Where it cannot,
the failure is raised to the pipeline, which ends the client's stream with an error event.
The deployment slot the router took is released when the stream ends, however it ends.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

from keel.answer import Event, calls_a_tool, choice_text
from keel.call import Call
from keel.errors import KeelError, StreamBroken, UpstreamError
from keel.providers.base import UpstreamReply

__all__ = ["Progress", "upstream_events"]


class Progress:
    """What routing needs to know of a stream so far: the text sent on (a fallback continues
    from it), whether it finished or called a tool, and an error it reported."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.tool_calls = False
        self.finished = False
        self.error: dict[str, Any] | None = None

    def see(self, events: list[Event]) -> None:
        for event in events:
            data = event.data
            if data is None:
                continue
            error = data.get("error")
            if isinstance(error, dict):
                self.error = error
                continue
            for choice in data.get("choices") or ():
                text = choice_text(choice)
                if text:
                    self.parts.append(text)
                elif calls_a_tool(choice):  # only a chunk without text can carry a tool call
                    self.tool_calls = True
                if isinstance(choice, dict) and choice.get("finish_reason"):
                    self.finished = True

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def resumable(self) -> bool:
        """Only text can be continued from where it broke; a half-sent tool call cannot."""
        return bool(self.parts) and not self.tool_calls and not self.finished

    def failure(self, reply: UpstreamReply, call: Call) -> KeelError | None:
        """Why the stream that just ended is not a whole answer, or None if it is."""
        if self.error is not None:
            message = self.error.get("message", "unknown error")
            return UpstreamError(f"Deployment {call.deployment} failed mid-stream: {message}")
        if not self.finished and not reply.done:
            return StreamBroken(
                f"Deployment {call.deployment} ended the stream before the answer was finished. "
                "The answer above is incomplete; retry the request."
            )
        return None


async def upstream_events(call: Call, reply: UpstreamReply) -> AsyncGenerator[list[Event], None]:
    """The reply's events: what was read while waiting for the first token, then the rest as
    it comes, the time spent waiting on the upstream added to ``call.upstream_s``. The
    upstream's stream is closed however this ends."""
    source = reply.events
    assert source is not None
    try:
        for events in reply.prefetched:
            yield events
        reply.prefetched = []
        waited = time.perf_counter()
        async for payloads in source:
            call.upstream_s += time.perf_counter() - waited
            yield [Event(p) for p in payloads]
            waited = time.perf_counter()
        call.upstream_s += time.perf_counter() - waited
    finally:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()

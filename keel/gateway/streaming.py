"""Server-sent events out: each event of a call's stream framed as it arrives, never buffered.

The stream ends with ``[DONE]`` only after the call's usage record is committed. A stream that
broke for good ends with an in-band error event and no ``[DONE]``, so no client mistakes a
truncated answer for a finished one; one resumed on a fallback says so in a comment line. A
client that hangs up stops the upstream call and is recorded (499).
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from keel.answer import Answer, Event, Resumed
from keel.call import Call
from keel.errors import KeelError

__all__ = ["EventStream"]

_DONE = b"data: [DONE]\n\n"
_NULL_USAGE = b',"usage":null}'


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(self, call: Call, answer: Answer, headers: dict[str, str]) -> None:
        super().__init__(None, 200, {**headers, "cache-control": "no-cache"}, self.media_type)
        # A stream has no length: drop the content-length: 0 that Response adds for no body.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.call = call
        self.answer = answer
        self.sent_id = call.id  # in the headers, which leave before the record commits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        forward = asyncio.create_task(self._forward(send))
        hangup = asyncio.create_task(_disconnected(receive))
        try:
            await asyncio.wait((forward, hangup), return_when=asyncio.FIRST_COMPLETED)
            if not forward.done():
                forward.cancel()
            await forward
        finally:
            hangup.cancel()

    async def _forward(self, send: Send) -> None:
        call, events = self.call, self.answer.events
        assert events is not None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for item in events:
                body = _resumed(item) if isinstance(item, Resumed) else self.frames(item)
                await send({"type": "http.response.body", "body": body, "more_body": True})
        except asyncio.CancelledError:
            pass  # the client went away: closing the stream records it so
        finally:
            await events.aclose()  # ends the call, if the stream did not run to its end
        if call.status == 499:
            return
        tail = self.tail(self.answer.ended)
        if call.id != self.sent_id:  # taken (keel.store.request_ids): say which id it got
            tail = _renamed(self.sent_id, call.id) + tail
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    def frames(self, events: list[Event]) -> bytes:
        """The SSE frames of events that arrived together."""
        strip_usage = not self.call.client_wants_usage
        return b"".join([_frame(event, strip_usage) for event in events])

    def tail(self, failure: KeelError | None) -> bytes:
        """What ends the stream: ``[DONE]``, or the error that broke it."""
        return _DONE if failure is None else b"data: " + failure.to_body() + b"\n\n"


def _resumed(item: Resumed) -> bytes:
    """A comment line: clients skip it; someone reading the raw stream learns what happened."""
    note = f": keel: {item.broken} broke ({item.code}); resumed on {item.target} by {item.kind}"
    return note.encode() + b"\n\n"


def _renamed(sent: str, recorded: str) -> bytes:
    """A comment line (clients skip it): the headers named an id that turned out taken."""
    return f": keel: x-request-id {sent} is taken; recorded as {recorded}\n\n".encode()


def _frame(event: Event, strip_usage: bool) -> bytes:
    payload = event.raw
    if strip_usage and payload.endswith(_NULL_USAGE):
        # The "usage": null that keel's include_usage added to every chunk.
        payload = payload[: -len(_NULL_USAGE)] + b"}"
    return b"data: " + payload + b"\n\n"


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass

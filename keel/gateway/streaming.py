"""Server-sent events out: each upstream event forwarded as it arrives, never buffered.

The stream ends with ``[DONE]`` only after the call's usage record is committed. A stream cut
upstream is resumed on a fallback where the model has one (routing/resume.py); otherwise it
ends with an in-band error event and no ``[DONE]``, so no client mistakes a truncated answer
for a finished one. A client that hangs up stops the upstream call and is recorded (499).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from keel.call import Call
from keel.errors import KeelError, StoreUnavailable, StreamBroken, UpstreamError
from keel.pipeline.meter import StreamMeter
from keel.providers.base import UpstreamReply
from keel.routing.resume import Splice
from keel.routing.target import Target

if TYPE_CHECKING:
    from keel.gateway.app import Gateway

__all__ = ["EventStream"]

_DONE = b"data: [DONE]\n\n"
_NULL_USAGE = b',"usage":null}'


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        gateway: Gateway,
        call: Call,
        target: Target,
        reply: UpstreamReply,
        headers: dict[str, str],
    ) -> None:
        super().__init__(None, 200, {**headers, "cache-control": "no-cache"}, self.media_type)
        # A stream has no length: drop the content-length: 0 that Response adds for no body.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.gateway = gateway
        self.call = call
        self.target = target
        self.reply = reply
        self.guard = gateway.guard.stream(call) if call.pii is not None else None
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
        call = self.call
        meter = StreamMeter(call)
        failure: KeelError | None = None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            failure = await self._relay(meter, send)
        except asyncio.CancelledError:
            call.status, call.error = 499, "client_disconnected"
        finally:
            self.target.release()
            self.gateway.metrics.in_flight.dec()
            if meter.malformed:
                self.gateway.metrics.malformed.labels(self.target.deployment.name).inc(
                    meter.malformed
                )
        if failure is not None:
            call.status, call.error = 502, failure.code
        call.usage = meter.final_usage()
        call.answer = meter.text
        try:
            await self.gateway.pipeline.after(call)
        except StoreUnavailable as exc:
            failure = failure or exc
        if call.status == 499:
            return
        tail = _DONE if failure is None else b"data: " + failure.to_body() + b"\n\n"
        if call.id != self.sent_id:  # taken (keel.store.request_ids): say which id it got
            tail = _renamed(self.sent_id, call.id) + tail
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def _relay(self, meter: StreamMeter, send: Send) -> KeelError | None:
        """Forward the stream; if it breaks, carry on from a fallback while one can."""
        splice: Splice | None = None
        while True:
            try:
                await self._pump(meter, send, splice)
                failure = _verdict(meter, self.reply, self.call)
            except StreamBroken as exc:
                failure = exc
            if failure is None:
                return None
            self.gateway.router.broke(self.call, self.target, failure)
            splice = await self._resume(meter, failure, send)
            if splice is None:
                return failure

    async def _resume(self, meter: StreamMeter, failure: KeelError, send: Send) -> Splice | None:
        if not meter.resumable():
            return None
        broken = self.target
        found = await self.gateway.router.resume(self.call, broken, meter.text)
        if found is None:
            return None
        self.target, self.reply, splice = found
        broken.release()
        meter.error = None
        self.gateway.metrics.resumed.labels(broken.name, self.target.name, splice.kind).inc()
        # A comment line: clients skip it; someone reading the raw stream learns what happened.
        note = f": keel: {broken.name} broke ({failure.code}); resumed on {self.target.name} "
        note += f"by {splice.kind}\n\n"
        await send({"type": "http.response.body", "body": note.encode(), "more_body": True})
        return splice

    async def _pump(self, meter: StreamMeter, send: Send, splice: Splice | None) -> None:
        reply = self.reply
        events = reply.events
        assert events is not None
        call = self.call
        strip_usage = not call.client_wants_usage
        guard = self.guard
        for payloads in reply.prefetched:  # read by the router while it waited for a token
            if body := _frames(payloads, meter, strip_usage, splice, guard):
                await send({"type": "http.response.body", "body": body, "more_body": True})
        reply.prefetched = []
        waited = time.perf_counter()
        try:
            async for payloads in events:
                call.upstream_s += time.perf_counter() - waited
                if body := _frames(payloads, meter, strip_usage, splice, guard):
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                waited = time.perf_counter()
            call.upstream_s += time.perf_counter() - waited
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()


def _renamed(sent: str, recorded: str) -> bytes:
    """A comment line (clients skip it): the headers named an id that turned out taken."""
    return f": keel: x-request-id {sent} is taken; recorded as {recorded}\n\n".encode()


def _frames(
    payloads: list[bytes],
    meter: StreamMeter,
    strip_usage: bool,
    splice: Splice | None,
    guard: Callable[[list[bytes]], list[bytes]] | None,
) -> bytes:
    """The SSE frames to send for what arrived together: spliced, guarded, metered, stripped."""
    if splice is not None:
        payloads = splice.feed(payloads)
    if guard is not None:
        payloads = guard(payloads)
    return b"".join([_frame(p, strip_usage) for p in payloads if meter.feed(p)])


def _frame(payload: bytes, strip_usage: bool) -> bytes:
    if strip_usage and payload.endswith(_NULL_USAGE):
        # The "usage": null that keel's include_usage added to every chunk.
        payload = payload[: -len(_NULL_USAGE)] + b"}"
    return b"data: " + payload + b"\n\n"


def _verdict(meter: StreamMeter, reply: UpstreamReply, call: Call) -> KeelError | None:
    if meter.error is not None:
        message = meter.error.get("message", "unknown error")
        return UpstreamError(f"Deployment {call.deployment} failed mid-stream: {message}")
    if not meter.finished and not reply.done:
        return StreamBroken(
            f"Deployment {call.deployment} ended the stream before the answer was finished. "
            "The answer above is incomplete; retry the request."
        )
    return None


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass

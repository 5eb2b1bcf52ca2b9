"""Server-sent events out: each upstream event forwarded as it arrives, never buffered.

The stream ends with ``[DONE]`` only after the call's usage record is committed. A stream cut
upstream ends with an in-band error event and no ``[DONE]``, so no client mistakes a truncated
answer for a finished one. A client that hangs up stops the upstream call and is recorded (499).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from keel.call import Call
from keel.errors import KeelError, StoreUnavailable, StreamBroken, UpstreamError
from keel.pipeline.meter import StreamMeter
from keel.providers.base import UpstreamReply
from keel.routing.router import Target

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
            await self._pump(meter, send)
            failure = _verdict(meter, self.reply, call)
        except StreamBroken as exc:
            failure = exc
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
        try:
            await self.gateway.pipeline.after(call)
        except StoreUnavailable as exc:
            failure = failure or exc
        if call.status == 499:
            return
        tail = _DONE if failure is None else b"data: " + failure.to_body() + b"\n\n"
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def _pump(self, meter: StreamMeter, send: Send) -> None:
        events = self.reply.events
        assert events is not None
        call = self.call
        strip_usage = not call.client_wants_usage
        waited = time.perf_counter()
        try:
            async for payloads in events:
                call.upstream_s += time.perf_counter() - waited
                frames = [_frame(p, strip_usage) for p in payloads if meter.feed(p)]
                if frames:
                    body = b"".join(frames)
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                waited = time.perf_counter()
            call.upstream_s += time.perf_counter() - waited
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()


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

"""A provider wrapped in a translator: it takes the client's protocol and speaks the
upstream's to the provider it wraps. Starting, closing and probing are the inner provider's
(the gateway starts each deployment's provider once, whatever wraps it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

from keel.answer import Event
from keel.providers.base import Provider, UpstreamReply, UpstreamRequest
from keel.translate.base import StreamTranslator, Translator

__all__ = ["Translated"]


class Translated(Provider):
    """``inner`` reached in the protocol of ``translator.client``."""

    def __init__(self, inner: Provider, translator: Translator) -> None:
        super().__init__(inner.deployment)
        self.inner = inner
        self.translator = translator
        self.endpoints = frozenset({translator.client})

    async def probe(self) -> str | None:
        return await self.inner.probe()

    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        translator = self.translator
        body = translator.request(request.body, request.stream)
        upstream = UpstreamRequest(
            translator.upstream, body, request.stream, request.request_id, trace=request.trace
        )
        reply = await self.inner.send(upstream)
        if reply.events is None:
            reply.answer = translator.answer(request.body, reply.body)
            reply.body = b""
            return reply
        out = UpstreamReply(headers=reply.headers, pace=reply.pace, parsed=True)
        out.events = _events(reply, out, translator.stream(request.body))
        return out


async def _events(
    reply: UpstreamReply, out: UpstreamReply, stream: StreamTranslator
) -> AsyncIterator[list[Event]]:
    """The inner stream's events, translated (each upstream payload parsed once, by the
    translator); closing this closes the inner stream."""
    source = cast("AsyncIterator[list[bytes]]", reply.events)  # an upstream's: payloads
    try:
        async for payloads in source:
            translated = stream.events(payloads)
            if translated:
                yield translated
        out.done = reply.done
        tail = stream.last(reply.done)
        if tail:
            yield tail
    finally:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()

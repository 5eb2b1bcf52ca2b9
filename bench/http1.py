"""A minimal HTTP/1.1 client connection for the load generator: one request in flight, keep-alive.

Reads Content-Length and chunked responses, and notes when the first body byte and the last byte
arrived (``time.perf_counter``; the loop's own clock only has millisecond resolution).
"""

from __future__ import annotations

import asyncio
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Conn", "Sample"]


@dataclass(slots=True)
class Sample:
    """One request's timeline, in perf_counter seconds."""

    intended: float
    sent: float = 0.0
    first_byte: float = 0.0
    last_byte: float = 0.0
    status: int = 0
    error: str | None = None


class _Parser:
    """Incremental response parser; ``feed`` returns True once the whole response is in."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.status = 0
        self.remaining = -1  # body bytes still expected (Content-Length), -1 before headers
        self.chunked = False
        self.body_seen = False

    def feed(self, data: bytes) -> bool:
        self.buf += data
        if self.remaining < 0 and not self.chunked and not self._head():
            return False
        if self.chunked:
            return self._chunks()
        taken = min(self.remaining, len(self.buf))
        self.body_seen = self.body_seen or taken > 0
        del self.buf[:taken]
        self.remaining -= taken
        return self.remaining == 0

    def _head(self) -> bool:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buf[:end]).lower()
        del self.buf[: end + 4]
        self.status = int(head[9:12])
        self.chunked = b"transfer-encoding: chunked" in head
        at = head.find(b"content-length:")
        if at >= 0:
            stop = head.find(b"\r\n", at)
            self.remaining = int(head[at + 15 : stop if stop > 0 else None])
        elif not self.chunked:
            self.remaining = 0
        return True

    def _chunks(self) -> bool:
        while True:
            line_end = self.buf.find(b"\r\n")
            if line_end < 0:
                return False
            size = int(bytes(self.buf[:line_end]).split(b";")[0], 16)
            if size == 0:
                # The last chunk, optional trailers, then an empty line.
                if self.buf.find(b"\r\n\r\n", line_end) < 0:
                    return False
                self.buf.clear()
                return True
            if len(self.buf) < line_end + 2 + size + 2:
                self.body_seen = self.body_seen or len(self.buf) > line_end + 2
                return False
            self.body_seen = True
            del self.buf[: line_end + 2 + size + 2]


class Conn(asyncio.Protocol):
    """One keep-alive connection; calls ``on_done`` after each full response."""

    def __init__(
        self,
        on_done: Callable[[Conn, Sample], None],
        on_lost: Callable[[Conn, Sample | None], None],
    ) -> None:
        self.on_done = on_done
        self.on_lost = on_lost
        self.sample: Sample | None = None
        self.parser = _Parser()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def send(self, sample: Sample, payload: bytes) -> None:
        self.sample = sample
        self.parser = _Parser()
        sample.sent = time.perf_counter()
        self.transport.write(payload)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        sample = self.sample
        if sample is None:
            return
        complete = self.parser.feed(data)
        if self.parser.body_seen and not sample.first_byte:
            sample.first_byte = now
        if complete:
            sample.last_byte = now
            sample.first_byte = sample.first_byte or now
            sample.status = self.parser.status
            if sample.status != 200:
                sample.error = f"HTTP {sample.status}"
            self.sample = None
            self.on_done(self, sample)

    def connection_lost(self, exc: Exception | None) -> None:
        sample, self.sample = self.sample, None
        self.on_lost(self, sample)

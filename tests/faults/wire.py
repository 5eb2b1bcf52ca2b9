"""HTTP/1.1 on raw asyncio streams, with the writes the faults are made of.

No framework: several faults live below HTTP (a TCP reset before any byte, a chunked body cut
short, a stall, a request never answered), so the upstream needs the socket itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        data = json.loads(self.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the request body must be a JSON object")
        return data


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one HTTP/1.1 request (Content-Length bodies only); None when the client is gone."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        method, target, _ = line.split(" ", 2)
        pairs = (item.split(":", 1) for item in lines if ":" in item)
        headers = {key.strip().lower(): value.strip() for key, value in pairs}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        return None
    return Request(method, target.split("?", 1)[0], headers, body)


class Conn:
    """One client connection, with the writes the faults are made of."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def head(self, status: int, headers: dict[str, str], close: bool = False) -> None:
        if close:
            headers = {**headers, "connection": "close"}
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        await self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def body(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        fixed = {"content-type": "application/json", "content-length": str(len(data))}
        await self.head(status, {**fixed, **(headers or {})})
        await self.send(data)

    async def json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        await self.body(status, json.dumps(payload).encode(), headers)

    async def start_stream(self, close: bool = False) -> None:
        headers = {"content-type": "text/event-stream", "cache-control": "no-cache"}
        await self.head(200, {**headers, "transfer-encoding": "chunked"}, close)

    async def event(self, data: str) -> None:
        """Send one SSE event as one HTTP chunk."""
        payload = f"data: {data}\n\n".encode()
        await self.send(b"%x\r\n%s\r\n" % (len(payload), payload))

    def reset(self) -> None:
        """Close with a TCP RST: SO_LINGER with a zero timeout discards instead of a FIN."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def hold(self) -> None:
        """Send nothing more and keep the connection open until the client gives up."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass

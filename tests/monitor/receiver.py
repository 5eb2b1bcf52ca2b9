"""A real webhook receiver on a free loopback port, scripted to fail its first posts.

Each entry of the script answers one POST: an HTTP status (with ``retry-after: 0`` for 429),
``"drop"`` (close the connection without an answer) or ``"hang"`` (answer only when the
receiver stops). Posts after the script get ``then``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson

__all__ = ["Post", "Receiver"]


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    script: list[int | str] = field(default_factory=list)
    then: int = 200
    posts: list[Post] = field(default_factory=list)
    url: str = ""
    _server: asyncio.Server | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            post = await _read(reader)
            self.posts.append(post)
            n = len(self.posts) - 1
            action = self.script[n] if n < len(self.script) else self.then
            if action == "hang":
                await self._stopping.wait()
                action = 503
            if action != "drop":
                assert isinstance(action, int)
                extra = "retry-after: 0\r\n" if action == 429 else ""
                writer.write(
                    f"HTTP/1.1 {action} X\r\ncontent-length: 2\r\n{extra}connection: close\r\n\r\n"
                    "ok".encode()
                )
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _read(reader: asyncio.StreamReader) -> Post:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    path = head[0].split(" ")[1]
    headers = {}
    for line in head[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Post(path, headers, body)

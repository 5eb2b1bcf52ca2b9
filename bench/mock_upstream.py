"""A fast OpenAI-compatible mock upstream for benchmarks: fixed answers, no framework.

    python bench/mock_upstream.py --port 9100 [--delay-ms 0] [--chunks 8]

Speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) to answer
``POST /v1/chat/completions`` with a fixed completion (with usage), or an SSE stream of
``--chunks`` chunks when the request asks for ``"stream": true``. It is a raw asyncio protocol on
uvloop so it serves many times a gateway's rate and is never the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import typing

import uvloop

ANSWER = json.dumps(
    {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "mock",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "The quick brown fox jumps."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
    },
    separators=(",", ":"),
).encode()


def _event(obj: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _chunk(delta: dict[str, str], finish: str | None, usage: object = None) -> bytes:
    body: dict[str, object] = {
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "mock",
        "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return _event(body)


def stream_body(chunks: int) -> bytes:
    parts = [_chunk({"role": "assistant", "content": ""}, None)]
    parts += [_chunk({"content": f" word{i}"}, None) for i in range(chunks)]
    parts.append(_chunk({}, "stop"))
    usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}
    parts.append(_chunk({}, None, usage))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def response(body: bytes, content_type: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type
    return head + b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body


class MockProtocol(asyncio.Protocol):
    def __init__(self, plain: bytes, stream: bytes, delay_s: float) -> None:
        self.plain = plain
        self.stream = stream
        self.delay_s = delay_s
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(
                    head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None]
                )
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body = self.buffer[end + 4 : total]
            self.buffer = self.buffer[total:]
            answer = self.stream if b'"stream":true' in body.replace(b" ", b"") else self.plain
            if self.delay_s:
                asyncio.get_running_loop().call_later(self.delay_s, self._write, answer)
            else:
                self.transport.write(answer)

    def _write(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(answer)


async def serve(port: int, delay_ms: float, chunks: int) -> None:
    plain = response(ANSWER, b"application/json")
    stream = response(stream_body(chunks), b"text/event-stream")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: MockProtocol(plain, stream, delay_ms / 1000), "127.0.0.1", port, backlog=4096
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=8)
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.delay_ms, args.chunks))


if __name__ == "__main__":
    main()

"""A fault-injecting OpenAI-compatible upstream for keel's routing and resilience tests.

Run ``python -m tests.faults.upstream --port P`` from the repo root; it listens on 127.0.0.1 only.
It speaks ``POST /v1/chat/completions`` (JSON or SSE) and ``GET /health``, and on the same port a
control API: ``POST /_faults`` sets a plan of faults, ``GET /_log`` lists the chat requests seen.
README.md next to this file has the fault table.

It is written on raw asyncio streams rather than a framework because several faults live below
HTTP: a TCP reset before any byte, a chunked body cut short, a stall, a request never answered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import Any

Fault = dict[str, Any]

DEFAULTS: dict[str, Fault] = {
    "slow_first_token": {"delay_s": 3.0},
    "cut": {"after_tokens": 3},
    "stall": {"after_tokens": 3},
    "malformed": {"at_token": 2},
    "down_for": {"seconds": 2.0},
}
CASTS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(("tokens", "after_tokens", "at_token"), int),
    **dict.fromkeys(("delay_s", "seconds", "retry_after"), float),
}
MALFORMED = '{"id": "chatcmpl-fault", "choices": [{"delta": '


def server_error(message: str) -> dict[str, Any]:
    return {"message": message, "type": "server_error", "param": None, "code": None}


ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "429": (429, {"message": "Rate limit reached for requests. Please try again later.",
                  "type": "requests", "param": None, "code": "rate_limit_exceeded"}),
    "500": (500, server_error("The server had an error while processing your request.")),
    "502": (502, server_error("Bad gateway.")),
    "503": (503, server_error("The server is overloaded or not ready yet.")),
    "504": (504, server_error("Gateway timeout.")),
    "context_length": (400, {
        "message": "This model's maximum context length is 8192 tokens. However, your messages "
                   "resulted in 9000 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}),
    "content_policy": (400, {
        "message": "Your request was rejected as a result of our safety system: it may contain "
                   "content that is not allowed by our content policy.",
        "type": "invalid_request_error", "param": None, "code": "content_policy_violation"}),
}  # fmt: skip


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


@dataclass
class Call:
    """One chat request and the fault chosen for it."""

    conn: Conn
    body: dict[str, Any]
    fault: Fault

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


def usage(body: dict[str, Any], tokens: int) -> dict[str, int]:
    prompt = 5 * len(body.get("messages") or [])
    return {"prompt_tokens": prompt, "completion_tokens": tokens, "total_tokens": prompt + tokens}


def envelope(body: dict[str, Any], kind: str) -> dict[str, Any]:
    model = body.get("model", "fault-model")
    return {"id": "chatcmpl-fault", "object": kind, "created": 1700000000, "model": model}


def completion(body: dict[str, Any], tokens: int) -> dict[str, Any]:
    content = " ".join(f"tok{i}" for i in range(tokens))
    message = {"role": "assistant", "content": content, "refusal": None}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    return {**envelope(body, "chat.completion"), "choices": [choice], "usage": usage(body, tokens)}


def wants_usage(body: dict[str, Any]) -> bool:
    return bool((body.get("stream_options") or {}).get("include_usage"))


def chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    out = {**envelope(body, "chat.completion.chunk"), "choices": [choice]}
    if wants_usage(body):
        out["usage"] = None  # as OpenAI does: every chunk but the last carries a null usage
    return json.dumps(out)


async def stream(call: Call) -> None:
    """Write an SSE answer, bent by the fault's knobs: ``delay_s`` before the first token,
    a bad event before token ``at_token``, no [DONE] for no_done. With ``after_tokens`` it
    returns after that many content chunks, and the caller decides how the stream dies."""
    body, conn, fault = call.body, call.conn, call.fault
    tokens: int = fault["tokens"]
    stop_after = fault.get("after_tokens")
    await conn.event(chunk(body, {"role": "assistant", "content": ""}))
    await asyncio.sleep(fault.get("delay_s", 0))
    for i in range(tokens if stop_after is None else min(tokens, stop_after)):
        if i == fault.get("at_token"):
            await conn.event(MALFORMED)
        await conn.event(chunk(body, {"content": ("" if i == 0 else " ") + f"tok{i}"}))
    if stop_after is not None:
        return
    await conn.event(chunk(body, {}, "stop"))
    if wants_usage(body):
        last = envelope(body, "chat.completion.chunk") | {
            "choices": [],
            "usage": usage(body, tokens),
        }
        await conn.event(json.dumps(last))
    if fault["name"] != "no_done":
        await conn.event("[DONE]")
    await conn.send(b"0\r\n\r\n")


async def answer(call: Call) -> bool:
    """The faults that still answer in full are this answer with a knob set: ok,
    slow_first_token (which also delays a whole JSON answer), malformed, no_done."""
    name: str = call.fault["name"]
    if call.stream:
        await call.conn.start_stream(close=name == "no_done")
        await stream(call)
        return name != "no_done"
    await asyncio.sleep(call.fault.get("delay_s", 0))
    if name == "malformed":
        await call.conn.body(200, MALFORMED.encode())
    else:
        await call.conn.json(200, completion(call.body, call.fault["tokens"]))
    return True


async def answer_error(call: Call) -> bool:
    status, error = ERRORS[call.fault["name"]]
    headers = {}
    if call.fault.get("retry_after") is not None:
        headers["retry-after"] = f"{call.fault['retry_after']:g}"
    await call.conn.json(status, {"error": error}, headers)
    return True


async def answer_nothing(call: Call) -> bool:
    """reset (and down_for while down) and no_answer send no byte: a RST now, or silence
    on an open connection until the client gives up."""
    if call.fault["name"] == "no_answer":
        await call.conn.hold()
    else:
        call.conn.reset()
    return False


async def answer_partial(call: Call) -> bool:
    """cut and stall start an answer and stop early: N content chunks, or half of a JSON body
    whose Content-Length promises more. Then cut closes (a FIN, no terminating chunk) and
    stall sends nothing more on an open connection."""
    cut = call.fault["name"] == "cut"
    if call.stream:
        await call.conn.start_stream(close=cut)
        await stream(call)
    else:
        data = json.dumps(completion(call.body, call.fault["tokens"])).encode()
        headers = {"content-type": "application/json", "content-length": str(len(data))}
        await call.conn.head(200, headers, close=cut)
        await call.conn.send(data[: len(data) // 2])
    if not cut:
        await call.conn.hold()
    return False


HANDLERS: dict[str, Callable[[Call], Awaitable[bool]]] = {
    **{name: answer for name in ("ok", "slow_first_token", "malformed", "no_done")},
    **{name: answer_error for name in ERRORS},
    **{name: answer_nothing for name in ("reset", "no_answer", "down_for")},
    **{name: answer_partial for name in ("cut", "stall")},
}


def parse_fault(spec: object) -> Fault:
    """A fault name (``"503"``, ``429``) or object (``{"name": "cut", "after_tokens": 2}``)."""
    if isinstance(spec, str | int):
        spec = {"name": str(spec)}
    if not isinstance(spec, dict) or str(spec.get("name")) not in HANDLERS:
        raise ValueError(f"unknown fault: {spec!r}; known: {sorted(HANDLERS)}")
    name = str(spec["name"])
    fault = {"tokens": 8, **DEFAULTS.get(name, {}), **spec, "name": name}
    # Cast now: a bad parameter is a 400 here rather than a broken answer later.
    return {key: CASTS[key](v) if key in CASTS and v is not None else v for key, v in fault.items()}


@dataclass
class State:
    port: int
    start: float = field(default_factory=time.monotonic)
    set_at: float = field(default_factory=time.monotonic)
    plan: deque[Fault] = field(default_factory=deque)
    then: Fault = field(default_factory=lambda: parse_fault("ok"))
    log: list[dict[str, Any]] = field(default_factory=list)
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def choose(state: State, req: Request) -> Fault:
    """The ``x-fault`` header wins and leaves the plan alone; then the plan; then ``then``."""
    header = req.headers.get("x-fault")
    if header:
        fault = parse_fault(json.loads(header) if header.startswith("{") else header)
    elif state.plan:
        fault = state.plan.popleft()
    else:
        fault = state.then
    if fault["name"] == "down_for" and time.monotonic() - state.set_at >= fault["seconds"]:
        return {**fault, "name": "ok"}  # recovered; until then it is a reset
    return fault


async def chat(state: State, conn: Conn, req: Request) -> bool:
    body, fault = req.json(), choose(state, req)
    t = time.monotonic() - state.start
    state.log.append(
        {"t": t, "fault": fault["name"], "stream": bool(body.get("stream")), "body": body}
    )
    return await HANDLERS[fault["name"]](Call(conn, body, fault))


async def listen(state: State, after: float = 0.0) -> None:
    await asyncio.sleep(after)
    if state.server is None:
        handler = partial(serve, state)
        state.server = await asyncio.start_server(handler, "127.0.0.1", state.port)


def stop_listening(state: State, seconds: float | None) -> None:
    """Close the listening socket, so new connections are refused; open ones keep working."""
    if state.server is not None:
        state.server.close()
        state.server = None
    if seconds is not None:
        task = asyncio.create_task(listen(state, after=seconds))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)


async def apply_control(state: State, spec: dict[str, Any]) -> None:
    plan = deque(parse_fault(item) for item in spec.get("plan", []))
    then = parse_fault(spec.get("then", "ok"))  # both parsed first: a bad fault changes nothing
    if spec.get("reset"):
        state.plan, state.then = deque(), parse_fault("ok")
        state.log.clear()
        await listen(state)
    if "plan" in spec or "then" in spec:
        state.plan, state.then, state.set_at = plan, then, time.monotonic()
    if spec.get("listen") is False:
        stop_listening(state, spec.get("seconds"))
    elif spec.get("listen") is True:
        await listen(state)


async def control(state: State, conn: Conn, req: Request) -> bool:
    await apply_control(state, req.json())
    listening = state.server is not None
    await conn.json(200, {"plan": list(state.plan), "then": state.then, "listening": listening})
    return True


async def reply_error(conn: Conn, status: int, message: str) -> bool:
    await conn.json(status, {"error": {"message": message, "type": "invalid_request_error"}})
    return True


async def route(state: State, conn: Conn, req: Request) -> bool:
    """Answer one request; False when the connection must not be reused.

    A ValueError (bad JSON, unknown fault, bad parameter) is a 400: faults check their
    parameters when parsed, so it comes before any byte of an answer is sent."""
    where = (req.method, req.path)
    try:
        if where == ("POST", "/v1/chat/completions"):
            return await chat(state, conn, req)
        if where == ("POST", "/_faults"):
            return await control(state, conn, req)
    except ValueError as exc:
        return await reply_error(conn, 400, str(exc))
    if where == ("GET", "/health"):
        await conn.json(200, {"status": "ok"})
    elif where == ("GET", "/_log"):
        await conn.json(200, state.log)
    else:
        return await reply_error(conn, 404, f"no route for {req.method} {req.path}")
    return True


async def serve(state: State, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    conn = Conn(reader, writer)
    try:
        while (req := await read_request(reader)) is not None:
            if not await route(state, conn, req) or req.headers.get("connection") == "close":
                break
    except ConnectionError:
        pass  # the client went away mid-answer; nothing to tell it
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def main(port: int) -> None:
    state = State(port)
    await listen(state)
    print(f"fault upstream listening on 127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()  # until SIGTERM, whose default action ends the process


def cli() -> None:
    parser = argparse.ArgumentParser(description="A fault-injecting OpenAI-compatible upstream.")
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))


if __name__ == "__main__":
    cli()

"""A fault-injecting OpenAI-compatible upstream for keel's routing and resilience tests.

Run ``python -m tests.faults.upstream --port P`` from the repo root; it listens on 127.0.0.1 only.
It speaks ``POST /v1/chat/completions`` (JSON or SSE), ``GET /v1/models`` (what a health probe
asks) and ``GET /health``, and on the same port a control API: ``POST /_faults`` sets the faults,
``GET /_log`` lists the chat and model-list requests seen. README.md next to this file has the
fault table; wire.py is the HTTP layer, shapes.py the OpenAI answers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tests.faults.shapes import (
    ERRORS,
    MALFORMED,
    MODEL_LIST,
    chunk,
    completion,
    piece,
    prefill,
    usage_chunk,
    wants_usage,
)
from tests.faults.wire import Conn, Request, read_request

Fault = dict[str, Any]

DEFAULTS: dict[str, Fault] = {
    "slow_first_token": {"delay_s": 3.0},
    "silent_close": {"delay_s": 3.0},
    "cut": {"after_tokens": 3},
    "stall": {"after_tokens": 3},
    "malformed": {"at_token": 2},
    "down_for": {"seconds": 2.0},
}
CASTS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(("tokens", "after_tokens", "at_token", "cut_after"), int),
    **dict.fromkeys(("delay_s", "seconds", "retry_after"), float),
}


@dataclass
class Call:
    """One request and the fault chosen for it. ``start`` > 0 continues an assistant prefill:
    the answer begins at token ``start``, and the faults' token counts count from there."""

    conn: Conn
    body: dict[str, Any]
    fault: Fault
    start: int = 0

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


async def stream(call: Call) -> None:
    """Write an SSE answer, bent by the fault's knobs: ``delay_s`` before the first token,
    a bad event before token ``at_token``, no [DONE] for no_done. With ``after_tokens`` it
    returns after that many content chunks, and the caller decides how the stream dies."""
    body, conn, fault, start = call.body, call.conn, call.fault, call.start
    tokens: int = fault["tokens"]
    stop_after = fault.get("after_tokens")
    await conn.event(chunk(body, {"role": "assistant", "content": ""}))
    await asyncio.sleep(fault.get("delay_s", 0))
    end = tokens if stop_after is None else min(tokens, start + stop_after)
    for i in range(start, end):
        if i - start == fault.get("at_token"):
            await conn.event(MALFORMED)
        await conn.event(chunk(body, {"content": piece(i)}))
    if stop_after is not None:
        return
    await conn.event(chunk(body, {}, "stop"))
    if wants_usage(body):
        await conn.event(usage_chunk(body, tokens - start))
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
        await call.conn.json(200, completion(call.body, call.fault["tokens"], call.start))
    return True


async def answer_echo(call: Call) -> bool:
    """echo: the last user message back as the answer (streamed five characters a chunk), so a
    test sees what the upstream was sent and what a guard does to text split across chunks."""
    body, conn = call.body, call.conn
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    text = str(users[-1].get("content") or "") if users else ""
    if not call.stream:
        answer = completion(body, 0)
        answer["choices"][0]["message"]["content"] = text
        await conn.json(200, answer)
        return True
    cut = call.fault.get("cut_after")  # that many chunks of the text, then a FIN
    await conn.start_stream(close=cut is not None)
    await conn.event(chunk(body, {"role": "assistant", "content": ""}))
    for n, i in enumerate(range(0, len(text), 5)):
        if n == cut:
            return False
        await conn.event(chunk(body, {"content": text[i : i + 5]}))
    await conn.event(chunk(body, {}, "stop"))
    if wants_usage(body):
        await conn.event(usage_chunk(body, len(text) // 5 + 1))
    await conn.event("[DONE]")
    await conn.send(b"0\r\n\r\n")
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


async def answer_silence_then_close(call: Call) -> bool:
    """silent_close: the request read, ``delay_s`` of silence, then a FIN with no byte sent:
    an upstream that gave up on the request without saying so."""
    await asyncio.sleep(call.fault["delay_s"])
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
        data = json.dumps(completion(call.body, call.fault["tokens"], call.start)).encode()
        headers = {"content-type": "application/json", "content-length": str(len(data))}
        await call.conn.head(200, headers, close=cut)
        await call.conn.send(data[: len(data) // 2])
    if not cut:
        await call.conn.hold()
    return False


async def answer_models(call: Call) -> bool:
    await asyncio.sleep(call.fault.get("delay_s", 0))
    await call.conn.json(200, MODEL_LIST)
    return True


HANDLERS: dict[str, Callable[[Call], Awaitable[bool]]] = {
    **{name: answer for name in ("ok", "slow_first_token", "malformed", "no_done")},
    **{name: answer_error for name in ERRORS},
    **{name: answer_nothing for name in ("reset", "no_answer", "down_for")},
    **{name: answer_partial for name in ("cut", "stall")},
    "silent_close": answer_silence_then_close,
    "echo": answer_echo,
}
# What a model-list request (a health probe) can be made to suffer; the rest are about answers.
MODEL_HANDLERS: dict[str, Callable[[Call], Awaitable[bool]]] = {
    **{name: answer_models for name in ("ok", "slow_first_token")},
    **{name: answer_error for name in ("429", "500", "502", "503", "504")},
    **{name: answer_nothing for name in ("reset", "no_answer", "down_for")},
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


def parse_models_fault(spec: object) -> Fault:
    fault = parse_fault(spec)
    if fault["name"] not in MODEL_HANDLERS:
        raise ValueError(
            f"fault {fault['name']!r} does not apply to model-list requests; "
            f"use one of {sorted(MODEL_HANDLERS)}"
        )
    return fault


@dataclass
class State:
    port: int
    start: float = field(default_factory=time.monotonic)
    set_at: float = field(default_factory=time.monotonic)
    plan: deque[Fault] = field(default_factory=deque)
    then: Fault = field(default_factory=lambda: parse_fault("ok"))
    models: Fault = field(default_factory=lambda: parse_fault("ok"))
    models_at: float = field(default_factory=time.monotonic)
    log: list[dict[str, Any]] = field(default_factory=list)
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def header_fault(req: Request) -> object | None:
    header = req.headers.get("x-fault")
    if not header:
        return None
    return json.loads(header) if header.startswith("{") else header


def recovered(fault: Fault, since: float) -> Fault:
    """down_for is a reset until ``seconds`` after ``since``, then ok."""
    if fault["name"] == "down_for" and time.monotonic() - since >= fault["seconds"]:
        return {**fault, "name": "ok"}
    return fault


def choose(state: State, req: Request) -> Fault:
    """The ``x-fault`` header wins and leaves the plan alone; then the plan; then ``then``."""
    header = header_fault(req)
    if header is not None:
        fault = parse_fault(header)
    elif state.plan:
        fault = state.plan.popleft()
    else:
        fault = state.then
    return recovered(fault, state.set_at)


def logged(state: State, req: Request, fault: Fault, **entry: Any) -> None:
    t = time.monotonic() - state.start
    state.log.append({"t": t, "path": req.path, "fault": fault["name"], **entry})


async def chat(state: State, conn: Conn, req: Request) -> bool:
    body, fault = req.json(), choose(state, req)
    start = prefill(body, fault["tokens"])
    extra = {} if start is None else {"prefill": start}
    logged(state, req, fault, stream=bool(body.get("stream")), body=body, **extra)
    return await HANDLERS[fault["name"]](Call(conn, body, fault, start or 0))


async def models(state: State, conn: Conn, req: Request) -> bool:
    header = header_fault(req)
    fault = state.models if header is None else parse_models_fault(header)
    fault = recovered(fault, state.models_at)
    logged(state, req, fault, stream=False, body=None)
    return await MODEL_HANDLERS[fault["name"]](Call(conn, {}, fault))


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
    # Every fault is parsed first: a bad one changes nothing.
    plan = deque(parse_fault(item) for item in spec.get("plan", []))
    then = parse_fault(spec.get("then", "ok"))
    model_fault = parse_models_fault(spec.get("models", "ok"))
    if spec.get("reset"):
        state.plan, state.then, state.models = deque(), parse_fault("ok"), parse_fault("ok")
        state.log.clear()
        await listen(state)
    if "plan" in spec or "then" in spec:
        state.plan, state.then, state.set_at = plan, then, time.monotonic()
    if "models" in spec:
        state.models, state.models_at = model_fault, time.monotonic()
    if spec.get("listen") is False:
        stop_listening(state, spec.get("seconds"))
    elif spec.get("listen") is True:
        await listen(state)


async def control(state: State, conn: Conn, req: Request) -> bool:
    await apply_control(state, req.json())
    listening = state.server is not None
    answer = {"plan": list(state.plan), "then": state.then, "models": state.models,
              "listening": listening}  # fmt: skip
    await conn.json(200, answer)
    return True


async def reply_error(conn: Conn, status: int, message: str) -> bool:
    await conn.json(status, {"error": {"message": message, "type": "invalid_request_error"}})
    return True


ROUTES: dict[tuple[str, str], Callable[[State, Conn, Request], Awaitable[bool]]] = {
    ("POST", "/v1/chat/completions"): chat,
    ("GET", "/v1/models"): models,
    ("POST", "/_faults"): control,
}


async def route(state: State, conn: Conn, req: Request) -> bool:
    """Answer one request; False when the connection must not be reused.

    A ValueError (bad JSON, unknown fault, bad parameter) is a 400: faults check their
    parameters when parsed, so it comes before any byte of an answer is sent."""
    where = (req.method, req.path)
    if (handler := ROUTES.get(where)) is not None:
        try:
            return await handler(state, conn, req)
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

"""A recording upstream that speaks Anthropic's Messages API, plain and streamed.

Run as ``python tests/providers/anthropic_upstream.py PORT``, or in-process with ``app()``.
``POST [/{tag}]/v1/messages`` answers; ``GET /_recorded`` returns every request (path, headers,
raw body). The tag lets one process stand for several deployments (``base_url: …/a``).

What it answers is steered by the text of the last user turn, so a test needs no control
channel and concurrent tests do not meet:

- ``fail TAG STATUS TYPE``: deployments tagged TAG (``*``: all) answer HTTP STATUS with an
  Anthropic error of TYPE (``prompt is too long…`` for invalid_request_error ``too-long``);
- ``event-fail TAG TYPE``: a stream whose first event after message_start is an error event;
- ``break TAG TYPE``: a stream that sends some text, then an error event;
- with tools and no tool result yet: a tool_use of the first tool; with a tool result: text
  quoting it.

Its answers carry fields and events no schema has (``x_vendor``), for pass-through tests.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
from aiohttp import web

RECORDED: web.AppKey[list[dict[str, Any]]] = web.AppKey("recorded", list)

TEXT = ["Hello", " from", " the", " recorder."]
USAGE = {
    "input_tokens": 20,
    "cache_creation_input_tokens": 10,
    "cache_read_input_tokens": 30,
    "output_tokens": 5,
}
MESSAGES = {
    "invalid_request_error": "messages: field required",
    "too-long": "prompt is too long: 210000 tokens > 200000 maximum",
    "authentication_error": "invalid x-api-key",
    "permission_error": "your key may not use this model",
    "rate_limit_error": "Number of requests has exceeded your rate limit",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}


def error_body(kind: str) -> bytes:
    wire = "invalid_request_error" if kind == "too-long" else kind
    error = {"type": wire, "message": MESSAGES.get(kind, kind)}
    return orjson.dumps({"type": "error", "error": error})


def last_text(body: dict[str, Any]) -> str:
    messages = body.get("messages") or [{}]
    content = messages[-1].get("content")
    if isinstance(content, str):
        return content
    texts = [b.get("text", "") for b in content or [] if b.get("type") == "text"]
    return " ".join(texts)


def tool_result(body: dict[str, Any]) -> str | None:
    content = (body.get("messages") or [{}])[-1].get("content")
    for block in content if isinstance(content, list) else []:
        if block.get("type") == "tool_result":
            inner = block.get("content")
            if isinstance(inner, list):
                return "".join(b.get("text", "") for b in inner)
            return str(inner)
    return None


def directive(body: dict[str, Any], tag: str) -> list[str] | None:
    words = last_text(body).split()
    if len(words) >= 3 and words[1] in (tag, "*"):
        return words
    return None


def blocks(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The answer's content blocks and stop reason."""
    result = tool_result(body)
    if body.get("tools") and result is None:
        tool = body["tools"][0]
        use = {
            "type": "tool_use",
            "id": "toolu_rec1",
            "name": tool["name"],
            "input": {"city": "Paris", "units": ["c"]},
        }
        return [{"type": "text", "text": "Let me look."}, use], "tool_use"
    text = f"The tool said: {result}" if result is not None else "".join(TEXT)
    return [{"type": "text", "text": text}], "end_turn"


def message(body: dict[str, Any]) -> dict[str, Any]:
    content, stop = blocks(body)
    return {
        "id": "msg_rec",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": USAGE,
        "x_vendor": {"trace": [1, 2.5, "three"]},
    }


def sse(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def events(body: dict[str, Any], tag: str) -> list[bytes]:
    """The stream of one answer, event by event, with the error a directive asks for."""
    start = {k: v for k, v in message(body).items() if k != "content"}
    start.update(content=[], stop_reason=None, usage={**USAGE, "output_tokens": 1})
    out = [sse("message_start", {"type": "message_start", "message": start})]
    out.append(sse("ping", {"type": "ping"}))
    words = directive(body, tag)
    if words is not None and words[0] == "event-fail":
        return [
            *out,
            sse("error", {"type": "error", "error": orjson.loads(error_body(words[2]))["error"]}),
        ]
    content, stop = blocks(body)
    for i, block in enumerate(content):
        if block["type"] == "text":
            out.append(
                sse(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": i,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            pieces = TEXT if block["text"] == "".join(TEXT) else [block["text"]]
            for piece in pieces:
                delta = {"type": "text_delta", "text": piece}
                out.append(
                    sse(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": i, "delta": delta, "x_vendor": 1},
                    )
                )
            if words is not None and words[0] == "break":
                error = orjson.loads(error_body(words[2]))["error"]
                return [*out, sse("error", {"type": "error", "error": error})]
        else:
            head = {**block, "input": {}}
            out.append(
                sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": i, "content_block": head},
                )
            )
            arguments = orjson.dumps(block["input"]).decode()
            for part in (arguments[:8], arguments[8:]):
                delta = {"type": "input_json_delta", "partial_json": part}
                out.append(
                    sse(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": i, "delta": delta},
                    )
                )
        out.append(sse("content_block_stop", {"type": "content_block_stop", "index": i}))
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": {"output_tokens": USAGE["output_tokens"]},
    }
    out.append(sse("message_delta", delta))
    out.append(sse("message_stop", {"type": "message_stop"}))
    return out


async def messages(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    tag = request.match_info.get("tag", "")
    headers = {str(k): v for k, v in request.headers.items()}  # istr keys: orjson wants str
    request.app[RECORDED].append({"path": request.path, "headers": headers, "body": raw.decode()})
    body = orjson.loads(raw)
    words = directive(body, tag)
    if words is not None and words[0] == "fail":
        headers = {"retry-after": "0"} if words[2] == "429" else {}
        return web.Response(
            body=error_body(words[3]),
            status=int(words[2]),
            content_type="application/json",
            headers=headers,
        )
    if not body.get("stream"):
        return web.Response(body=orjson.dumps(message(body)), content_type="application/json")
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    for event in events(body, tag):
        await response.write(event)
    await response.write_eof()
    return response


async def models(_: web.Request) -> web.Response:
    return web.json_response({"data": [], "has_more": False})


async def recorded(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(request.app[RECORDED]), content_type="application/json")


async def health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def app() -> web.Application:
    application = web.Application()
    application[RECORDED] = []
    application.add_routes(
        [
            web.post("/v1/messages", messages),
            web.post("/{tag}/v1/messages", messages),
            web.get("/v1/models", models),
            web.get("/{tag}/v1/models", models),
            web.get("/_recorded", recorded),
            web.get("/health", health),
        ]
    )
    return application


if __name__ == "__main__":
    web.run_app(app(), host="127.0.0.1", port=int(sys.argv[1]), print=None)

"""A recording upstream that serves OpenAI's Responses API, plain and streamed.

Run as ``python tests/providers/responses_upstream.py PORT``, or in-process with ``app()``.
``POST [/{tag}]/v1/responses`` answers; ``GET /_recorded`` returns every request (path,
headers, raw body). The tag lets one process stand for several deployments (``…/a/v1``).

What it answers is steered by the text of the last input item, so a test needs no control
channel and concurrent tests do not meet:

- ``fail TAG STATUS CODE``: deployments tagged TAG (``*``: all) answer HTTP STATUS with an
  OpenAI error of CODE;
- with function tools and no function_call_output yet: a function_call of the first; with one:
  text quoting it; else a text that counts the input items it was given.

Its answers carry fields and events no schema has (``x_vendor``), for pass-through tests.
Like OpenAI's, every Response it makes says ``store`` as the request did.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import orjson
from aiohttp import web

RECORDED: web.AppKey[list[dict[str, Any]]] = web.AppKey("recorded", list)

USAGE = {
    "input_tokens": 20,
    "input_tokens_details": {"cached_tokens": 8},
    "output_tokens": 5,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 25,
}


def last_text(body: dict[str, Any]) -> str:
    given = body.get("input")
    if isinstance(given, str):
        return given
    last = given[-1] if isinstance(given, list) and given else {}
    content = last.get("content") if isinstance(last, dict) else None
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return " ".join(p.get("text", "") for p in parts if isinstance(p, dict))


def tool_output(body: dict[str, Any]) -> str | None:
    given = body.get("input")
    for item in given if isinstance(given, list) else []:
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            return str(item.get("output"))
    return None


def directive(body: dict[str, Any], tag: str) -> list[str] | None:
    words = last_text(body).split()
    if len(words) >= 4 and words[0] == "fail" and words[1] in (tag, "*"):
        return words
    return None


def output(body: dict[str, Any]) -> list[dict[str, Any]]:
    result = tool_output(body)
    tools = [t for t in body.get("tools") or [] if "name" in t]  # function tools
    if tools and result is None:
        call = {
            "type": "function_call",
            "id": "fc_rec1",
            "call_id": "call_rec1",
            "name": tools[0]["name"],
            "arguments": '{"city": "Paris"}',
            "status": "completed",
        }
        return [call]
    given = body.get("input")
    count = len(given) if isinstance(given, list) else 1
    text = f"The tool said: {result}" if result is not None else f"I read {count} items."
    part = {"type": "output_text", "text": text, "annotations": [], "x_vendor": "part"}
    message = {
        "type": "message",
        "id": "msg_rec1",
        "role": "assistant",
        "status": "completed",
        "content": [part],
    }
    return [message]


def response(body: dict[str, Any], status: str, out: list[dict[str, Any]]) -> dict[str, Any]:
    done = status == "completed"
    return {
        "id": "resp_up_" + uuid.uuid4().hex,
        "object": "response",
        "created_at": 1_765_000_000,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": out,
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "store": body.get("store") is not False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": body.get("tools") or [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": USAGE if done else None,
        "metadata": body.get("metadata") or {},
        "x_vendor": {"trace": [1, 2.5, "three"]},
    }


def sse(data: dict[str, Any]) -> bytes:
    return b"event: " + data["type"].encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def events(body: dict[str, Any]) -> list[dict[str, Any]]:
    """One answer as the Responses API streams it, with an event type no SDK knows."""
    out = output(body)
    start = response(body, "in_progress", [])
    final = {**response(body, "completed", out), "id": start["id"]}
    stream: list[dict[str, Any]] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
        {"type": "response.x_vendor_note", "note": "for pass-through tests"},
    ]
    for index, item in enumerate(out):
        stream.append({"type": "response.output_item.added", "output_index": index, "item": item})
        if item["type"] == "message":
            text = item["content"][0]["text"]
            for piece in (text[:4], text[4:]):
                delta = {"type": "response.output_text.delta", "item_id": item["id"]}
                delta.update(output_index=index, content_index=0, delta=piece, logprobs=[])
                stream.append(delta)
            done = {"type": "response.output_text.done", "item_id": item["id"], "text": text}
            stream.append({**done, "output_index": index, "content_index": 0, "logprobs": []})
        stream.append({"type": "response.output_item.done", "output_index": index, "item": item})
    stream.append({"type": "response.completed", "response": final})
    return [{**event, "sequence_number": n} for n, event in enumerate(stream)]


async def responses(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    tag = request.match_info.get("tag", "")
    headers = {str(k): v for k, v in request.headers.items()}  # istr keys: orjson wants str
    request.app[RECORDED].append({"path": request.path, "headers": headers, "body": raw.decode()})
    body = orjson.loads(raw)
    words = directive(body, tag)
    if words is not None:
        error = {"message": f"forced {words[3]}", "type": words[3], "param": None, "code": None}
        return web.Response(
            body=orjson.dumps({"error": error}),
            status=int(words[2]),
            content_type="application/json",
            headers={"retry-after": "0"} if words[2] == "429" else {},
        )
    if not body.get("stream"):
        answer = response(body, "completed", output(body))
        return web.Response(body=orjson.dumps(answer), content_type="application/json")
    stream = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await stream.prepare(request)
    for event in events(body):
        await stream.write(sse(event))
    await stream.write_eof()
    return stream


async def recorded(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(request.app[RECORDED]), content_type="application/json")


async def health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def app() -> web.Application:
    application = web.Application()
    application[RECORDED] = []
    application.add_routes(
        [
            web.post("/v1/responses", responses),
            web.post("/{tag}/v1/responses", responses),
            web.get("/v1/models", health),
            web.get("/{tag}/v1/models", health),
            web.get("/_recorded", recorded),
            web.get("/health", health),
        ]
    )
    return application


if __name__ == "__main__":
    web.run_app(app(), host="127.0.0.1", port=int(sys.argv[1]), print=None)

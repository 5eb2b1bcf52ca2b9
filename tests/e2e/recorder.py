"""A small OpenAI-compatible upstream that records every request it gets.

Run as ``python recorder.py PORT``. ``GET /_recorded`` returns what it received (body and headers).
Its answers carry fields no OpenAI schema has, so tests can check they reach the client.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

RECORDED: list[dict[str, Any]] = []

ANSWER_EXTRAS = {
    "system_fingerprint": "fp_recorder",
    "x_vendor": {"trace": [1, 2.5, "three"], "nested": {"ok": True}},
}


def completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-rec",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "recorded",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"q": "x"}'},
                        }
                    ],
                },
                "logprobs": {"content": [{"token": "recorded", "logprob": -0.25}]},
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        **ANSWER_EXTRAS,
    }


def chunks(model: str, include_usage: bool) -> list[dict[str, Any]]:
    base = {"id": "chatcmpl-rec", "object": "chat.completion.chunk", "created": 1700000000}
    out = []
    for delta, finish in (({"role": "assistant", "content": ""}, None), ({"content": "rec"}, None),
                          ({"content": "orded"}, None), ({}, "stop")):  # fmt: skip
        chunk = {**base, "model": model, "choices": [{"index": 0, "delta": delta,
                 "finish_reason": finish}], "x_vendor": {"chunk": True}}  # fmt: skip
        if include_usage:
            chunk["usage"] = None
        out.append(chunk)
    if include_usage:
        usage = {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}
        out.append({**base, "model": model, "choices": [], "usage": usage})
    return out


async def chat(request: Request) -> Response:
    raw = await request.body()
    RECORDED.append(
        {"path": request.url.path, "body": raw.decode(), "headers": dict(request.headers)}
    )
    body = orjson.loads(raw)
    if body.get("messages", [{}])[-1].get("content") == "fail with 400":
        error = {"error": {"message": "context too long", "type": "invalid_request_error",
                           "code": "context_length_exceeded", "param": "messages"}}  # fmt: skip
        return Response(orjson.dumps(error), 400, media_type="application/json")
    if not body.get("stream"):
        return Response(orjson.dumps(completion(body["model"])), media_type="application/json")
    include = bool((body.get("stream_options") or {}).get("include_usage"))

    async def events() -> Any:
        for chunk in chunks(body["model"], include):
            yield b"data: " + orjson.dumps(chunk) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def recorded(_: Request) -> Response:
    return Response(orjson.dumps(RECORDED), media_type="application/json")


async def health(_: Request) -> Response:
    return Response(b"ok")


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/_recorded", recorded),
        Route("/health", health),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")

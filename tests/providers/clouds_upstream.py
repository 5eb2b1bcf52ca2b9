"""A recording upstream that answers like Azure OpenAI, Gemini and Bedrock, on loopback.

Run as ``python clouds_upstream.py PORT``. ``GET /_recorded`` returns every request it got
(path with query, headers, body). The last user message steers it: ``fail:<kind>`` answers
that cloud's error of the kind (rate, overloaded, context, policy, auth), ``stream-fail:rate``
a stream whose first event is a throttling exception, ``tool`` a function call.
"""

from __future__ import annotations

import binascii
import struct
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

RECORDED: list[dict[str, Any]] = []
JSON = "application/json"


async def record(request: Request) -> dict[str, Any]:
    raw = await request.body()
    path = request.scope["raw_path"].decode()
    query = request.scope["query_string"].decode()
    RECORDED.append(
        {"path": path, "query": query, "headers": dict(request.headers), "body": raw.decode()}
    )
    return orjson.loads(raw)


def steer(messages: list[dict[str, Any]], text: str) -> str:
    """The text of the last user turn, whatever the wire format keeps it in."""
    for message in reversed(messages):
        if message.get("role") == "user":
            for part in message.get("parts") or message.get("content") or []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    return str(part["text"])
            if isinstance(message.get("content"), str):
                return str(message["content"])
    return text


# Azure OpenAI: the OpenAI wire format.

AZURE_ERRORS = {
    "rate": (429, "rate_limit_exceeded", "Requests have exceeded the call rate limit."),
    "overloaded": (503, "server_busy", "The server is busy."),
    "context": (400, "context_length_exceeded", "This model's maximum context length is 8192."),
    "policy": (400, "content_filter", "The prompt triggered the content management policy."),
    "auth": (401, "401", "Access denied due to invalid subscription key."),
}
USAGE_OPENAI = {
    "prompt_tokens": 20,
    "completion_tokens": 7,
    "total_tokens": 27,
    "prompt_tokens_details": {"cached_tokens": 8},
}


async def azure(request: Request) -> Response:
    body = await record(request)
    said = steer(body["messages"], "")
    if said.startswith("fail:"):
        status, code, message = AZURE_ERRORS[said[5:]]
        error = {"error": {"message": message, "type": None, "code": code, "param": None}}
        return Response(orjson.dumps(error), status, {"retry-after": "0"}, media_type=JSON)
    message: dict[str, Any] = {"role": "assistant", "content": "from azure"}
    if said == "tool":
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_az",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q":"x"}'},
                }
            ],
        }
    finish = "tool_calls" if said == "tool" else "stop"
    if not body.get("stream"):
        answer = {
            "id": "chatcmpl-az",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": USAGE_OPENAI,
        }
        return Response(orjson.dumps(answer), media_type=JSON)

    async def events() -> AsyncIterator[bytes]:
        base = {
            "id": "chatcmpl-az",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
        }
        deltas: list[tuple[dict[str, Any], str | None]] = [
            ({"role": "assistant", "content": ""}, None),
            ({"content": "from "}, None),
            ({"content": "azure"}, None),
            ({}, "stop"),
        ]
        if said == "tool":
            call = {**message["tool_calls"][0], "index": 0}
            deltas = [({"role": "assistant", "tool_calls": [call]}, None), ({}, "tool_calls")]
        for delta, finish in deltas:
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            yield b"data: " + orjson.dumps(chunk) + b"\n\n"
        yield b"data: " + orjson.dumps({**base, "choices": [], "usage": USAGE_OPENAI}) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


# Gemini: generateContent and streamGenerateContent?alt=sse.

GEMINI_ERRORS = {
    "rate": (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    "overloaded": (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    "context": (
        400,
        "INVALID_ARGUMENT",
        "The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).",
    ),
    "auth": (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
}
USAGE_GEMINI = {
    "promptTokenCount": 20,
    "candidatesTokenCount": 5,
    "thoughtsTokenCount": 2,
    "cachedContentTokenCount": 8,
    "totalTokenCount": 27,
}


async def gemini(request: Request) -> Response:
    body = await record(request)
    said = steer(body["contents"], "")
    if said == "fail:policy":
        blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": USAGE_GEMINI}
        return Response(orjson.dumps(blocked), media_type=JSON)
    if said.startswith("fail:"):
        status, word, message = GEMINI_ERRORS[said[5:]]
        error = {"error": {"code": status, "message": message, "status": word}}
        return Response(orjson.dumps(error), status, media_type=JSON)
    parts: list[dict[str, Any]] = [{"text": "from gemini"}]
    if said == "tool":
        parts = [{"functionCall": {"name": "lookup", "args": {"q": "x"}}}]
    if not request.url.path.endswith(":streamGenerateContent"):
        candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}
        answer = {
            "candidates": [candidate],
            "usageMetadata": USAGE_GEMINI,
            "modelVersion": "gemini-2.5-flash",
            "responseId": "gem-1",
        }
        return Response(orjson.dumps(answer), media_type=JSON)

    async def events() -> AsyncIterator[bytes]:
        pieces = [[{"text": "from "}], [{"text": "gemini"}]] if said != "tool" else [parts]
        for n, piece in enumerate(pieces):
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": piece}}
            if n == len(pieces) - 1:
                candidate["finishReason"] = "STOP"
            event = {"candidates": [candidate], "usageMetadata": USAGE_GEMINI}
            yield b"data: " + orjson.dumps(event) + b"\r\n\r\n"

    return StreamingResponse(events(), media_type="text/event-stream")


# Bedrock: Converse, and ConverseStream in AWS's event-stream framing.

BEDROCK_ERRORS = {
    "rate": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "overloaded": (
        503,
        "ServiceUnavailableException",
        "Bedrock is unable to process your request.",
    ),
    "context": (400, "ValidationException", "Input is too long for requested model."),
    "auth": (
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ),
}
USAGE_BEDROCK = {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19, "cacheReadInputTokens": 8}


def frame(headers: dict[str, str], payload: dict[str, Any]) -> bytes:
    """One event-stream message: prelude (lengths, CRC), string headers, payload, CRC."""
    encoded = b"".join(
        struct.pack("!B", len(k)) + k.encode() + b"\x07" + struct.pack("!H", len(v)) + v.encode()
        for k, v in headers.items()
    )
    body = orjson.dumps(payload)
    total = 12 + len(encoded) + len(body) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    message = prelude + encoded + body
    return message + struct.pack("!I", binascii.crc32(message))


def event(kind: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": kind, ":content-type": JSON, ":message-type": "event"}
    return frame(headers, payload)


async def bedrock(request: Request) -> Response:
    body = await record(request)
    said = steer(body["messages"], "")
    if said.startswith("fail:") and said != "fail:policy":
        status, kind, message = BEDROCK_ERRORS[said[5:]]
        headers = {
            "x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        }
        return Response(orjson.dumps({"message": message}), status, headers, media_type=JSON)
    stop = "guardrail_intervened" if said == "fail:policy" else "end_turn"
    blocks: list[dict[str, Any]] = [{"text": "from bedrock"}]
    if said == "tool":
        stop, blocks = (
            "tool_use",
            [{"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": "x"}}}],
        )
    if not request.url.path.endswith("/converse-stream"):
        answer = {
            "output": {"message": {"role": "assistant", "content": blocks}},
            "stopReason": stop,
            "usage": USAGE_BEDROCK,
            "metrics": {"latencyMs": 5},
        }
        return Response(orjson.dumps(answer), media_type=JSON)

    async def events() -> AsyncIterator[bytes]:
        if said == "stream-fail:rate":
            headers = {
                ":exception-type": "throttlingException",
                ":content-type": JSON,
                ":message-type": "exception",
            }
            yield frame(headers, {"message": "Too many tokens, please wait."})
            return
        yield event("messageStart", {"role": "assistant", "p": "abc"})
        if said == "tool":
            yield event(
                "contentBlockStart",
                {
                    "contentBlockIndex": 0,
                    "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup"}},
                },
            )
            for piece in ('{"q":', '"x"}'):
                delta = {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}}
                yield event("contentBlockDelta", delta)
        else:
            for piece in ("from ", "bedrock"):
                yield event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
        yield event("contentBlockStop", {"contentBlockIndex": 0})
        yield event("messageStop", {"stopReason": stop})
        yield event("metadata", {"usage": USAGE_BEDROCK, "metrics": {"latencyMs": 5}})

    return StreamingResponse(events(), media_type="application/vnd.amazon.eventstream")


async def recorded(_: Request) -> Response:
    return Response(orjson.dumps(RECORDED), media_type=JSON)


async def health(_: Request) -> Response:
    return Response(b"ok")


app = Starlette(
    routes=[
        Route("/openai/deployments/{name}/chat/completions", azure, methods=["POST"]),
        Route("/v1beta/models/{call:path}", gemini, methods=["POST"]),
        Route("/model/{model}/converse", bedrock, methods=["POST"]),
        Route("/model/{model}/converse-stream", bedrock, methods=["POST"]),
        Route("/_recorded", recorded),
        Route("/health", health),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")

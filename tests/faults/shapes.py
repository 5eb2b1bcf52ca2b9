"""The OpenAI response shapes the fault upstream answers with: errors, completions, chunks.

The answer is always ``"tok0 tok1 … tokN-1"``; ``start`` > 0 continues an assistant prefill
of the first ``start`` tokens, so prefill + continuation is the whole answer.
"""

from __future__ import annotations

import json
from typing import Any

MALFORMED = '{"id": "chatcmpl-fault", "choices": [{"delta": '
MODEL_LIST = {
    "object": "list",
    "data": [{"id": "f", "object": "model", "created": 0, "owned_by": "faults"}],
}


def server_error(message: str) -> dict[str, Any]:
    return {"message": message, "type": "server_error", "param": None, "code": None}


ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "429": (429, {"message": "Rate limit reached for requests. Please try again later.",
                  "type": "requests", "param": None, "code": "rate_limit_exceeded"}),
    "500": (500, server_error("The server had an error while processing your request.")),
    "502": (502, server_error("Bad gateway.")),
    "503": (503, server_error("The server is overloaded or not ready yet.")),
    "504": (504, server_error("Gateway timeout.")),
    "401": (401, {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                  "param": None, "code": "invalid_api_key"}),
    "context_length": (400, {
        "message": "This model's maximum context length is 8192 tokens. However, your messages "
                   "resulted in 9000 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}),
    "content_policy": (400, {
        "message": "Your request was rejected as a result of our safety system: it may contain "
                   "content that is not allowed by our content policy.",
        "type": "invalid_request_error", "param": None, "code": "content_policy_violation"}),
}  # fmt: skip


def piece(i: int) -> str:
    """Token ``i`` as streamed: every token but the first has its leading space."""
    return ("" if i == 0 else " ") + f"tok{i}"


def answer_text(tokens: int, start: int = 0) -> str:
    return "".join(piece(i) for i in range(start, tokens))


def usage(body: dict[str, Any], tokens: int) -> dict[str, int]:
    prompt = 5 * len(body.get("messages") or [])
    return {"prompt_tokens": prompt, "completion_tokens": tokens, "total_tokens": prompt + tokens}


def envelope(body: dict[str, Any], kind: str) -> dict[str, Any]:
    model = body.get("model", "fault-model")
    return {"id": "chatcmpl-fault", "object": kind, "created": 1700000000, "model": model}


def completion(body: dict[str, Any], tokens: int, start: int = 0) -> dict[str, Any]:
    message = {"role": "assistant", "content": answer_text(tokens, start), "refusal": None}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    out = {**envelope(body, "chat.completion"), "choices": [choice]}
    return {**out, "usage": usage(body, tokens - start)}


def wants_usage(body: dict[str, Any]) -> bool:
    return bool((body.get("stream_options") or {}).get("include_usage"))


def chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    out = {**envelope(body, "chat.completion.chunk"), "choices": [choice]}
    if wants_usage(body):
        out["usage"] = None  # as OpenAI does: every chunk but the last carries a null usage
    return json.dumps(out)


def usage_chunk(body: dict[str, Any], tokens: int) -> str:
    last = envelope(body, "chat.completion.chunk") | {"choices": [], "usage": usage(body, tokens)}
    return json.dumps(last)


def prefill(body: dict[str, Any], tokens: int) -> int | None:
    """k when the last message is an assistant's string content made of the answer's first k
    whole tokens (``"tok0 tok1"``: 2; ``""``: 0); None otherwise, and the answer is as usual."""
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    content = last.get("content")
    if not isinstance(content, str):
        return None
    k = len(content.split(" ")) if content else 0
    return k if k <= tokens and content == answer_text(k) else None

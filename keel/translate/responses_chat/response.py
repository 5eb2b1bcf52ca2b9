"""A Chat Completions answer as an OpenAI Responses object.

The Response's id is keel's own (``resp_`` and 32 hex digits), as are its items' (``msg_``,
``fc_``). The first choice's text becomes a ``message`` item with one ``output_text`` part (a
refusal, a ``refusal`` part), each tool call a ``function_call`` item (its ``call_id`` the
upstream's call id, its arguments the JSON text as sent). ``finish_reason`` ``length`` makes
the response ``incomplete`` with ``incomplete_details.reason`` ``max_output_tokens``,
``content_filter`` ``incomplete`` with reason ``content_filter``; anything else ``completed``.
Usage: ``input_tokens`` are the prompt tokens (cached ones included, and counted again in
``input_tokens_details.cached_tokens``), ``output_tokens`` the completion's; none when the
upstream reported none (keel then estimates). The request's settings are echoed back as the
Responses API does.
"""

from __future__ import annotations

import os
import time
from typing import Any, TypeGuard

import orjson

from keel.errors import UpstreamError

__all__ = [
    "function_call_item",
    "message_item",
    "new_id",
    "response_object",
    "response_of",
    "response_status",
    "response_usage",
    "to_response",
]

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_id(prefix: str) -> str:
    """A fresh id of keel's: ``resp``, ``msg``, ``fc`` then 32 hex digits (128 random bits,
    like a uuid4's, for a quarter of its cost: no UUID object is made, and the bits come from
    the OS in blocks, not one system call an id)."""
    random = _RANDOM
    if not random:
        random += os.urandom(_BLOCK)
    bits = random[-16:]
    del random[-16:]
    return f"{prefix}_{bits.hex()}"


_BLOCK = 16 * 256  # random bytes for 256 ids
_RANDOM = bytearray()  # what is left of the last block: each id takes 16 bytes off its end
# Ids are made on the event loop (never on two threads at once). A forked process must not
# give the ids its parent has still to give.
os.register_at_fork(after_in_child=_RANDOM.clear)


def to_response(request: dict[str, Any], body: bytes) -> bytes:
    return orjson.dumps(response_of(request, body))


def response_of(request: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The Response object for a chat answer's bytes."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamError("The deployment answered with something that is not JSON.") from None
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamError("The deployment's answer has no choices to translate.")
    choice = choices[0]
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    status, reason = response_status(choice.get("finish_reason"))
    output: list[dict[str, Any]] = []
    text, refusal = message.get("content"), message.get("refusal")
    if (isinstance(text, str) and text) or (isinstance(refusal, str) and refusal):
        item = message_item(new_id("msg"), "completed" if status == "completed" else "incomplete")
        item["content"] = [_part(text, refusal)]
        output.append(item)
    for call in message.get("tool_calls") or ():
        output.append(_function_call(call))
    response = response_object(request, new_id("resp"), answer.get("model"))
    response.update(status=status, output=output, usage=response_usage(answer.get("usage")))
    if reason is not None:
        response["incomplete_details"] = {"reason": reason}
    return response


def response_status(finish: Any) -> tuple[str, str | None]:
    """(status, incomplete reason) for a chat finish reason."""
    reason = _INCOMPLETE.get(finish) if isinstance(finish, str) else None
    return ("incomplete", reason) if reason is not None else ("completed", None)


def response_object(request: dict[str, Any], response_id: str, model: Any) -> dict[str, Any]:
    """A Response ``in_progress`` with no output yet: the request's settings echoed."""
    tools = request.get("tools")
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model if isinstance(model, str) and model else request.get("model"),
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls") is not False,
        "previous_response_id": request.get("previous_response_id"),
        "store": request.get("store") is not False,
        "temperature": request.get("temperature"),
        "text": request.get("text") or {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": tools if isinstance(tools, list) else [],
        "top_p": request.get("top_p"),
        "truncation": "disabled",
        "usage": None,
        "user": request.get("user"),
        "metadata": request.get("metadata") or {},
    }


def response_usage(usage: Any) -> dict[str, Any] | None:
    """The Responses usage for a chat usage object; None if it is not one."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not _count(prompt) or not _count(completion):
        return None
    cached = _detail(usage, "prompt_tokens_details", "cached_tokens")
    reasoning = _detail(usage, "completion_tokens_details", "reasoning_tokens")
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": cached if cached <= prompt else 0,
            "cache_write_tokens": 0,
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


def message_item(item_id: str, status: str) -> dict[str, Any]:
    """An assistant ``message`` output item, its content to be filled."""
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": []}


def function_call_item(call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": new_id("fc"),
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _detail(usage: dict[str, Any], group: str, name: str) -> int:
    details = usage.get(group)
    value = details.get(name) if isinstance(details, dict) else None
    return value if _count(value) else 0


def _part(text: Any, refusal: Any) -> dict[str, Any]:
    if isinstance(text, str) and text:
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "refusal", "refusal": refusal}


def _function_call(call: Any) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise UpstreamError("The deployment's answer has a tool call without a function name.")
    arguments = function.get("arguments")
    arguments = arguments if isinstance(arguments, str) else orjson.dumps(arguments or {}).decode()
    call_id = call.get("id") if isinstance(call.get("id"), str) else new_id("call")
    return function_call_item(call_id, function["name"], arguments, "completed")

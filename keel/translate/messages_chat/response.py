"""A Chat Completions answer as an Anthropic Messages answer.

The first choice's text becomes a ``text`` block and each tool call a ``tool_use`` block (its
arguments parsed: arguments that are not a JSON object are the upstream's failure, a 502).
``finish_reason`` becomes ``stop_reason``: ``stop`` is ``end_turn`` (or ``stop_sequence``, with
``stop_sequence`` set, when the upstream names the sequence it stopped at or the text ends with
one), ``length`` is ``max_tokens``, ``tool_calls`` is ``tool_use``, ``content_filter`` is
``refusal``. Usage: ``input_tokens`` are the prompt tokens not read from the upstream's cache,
``cache_read_input_tokens`` those that were.
"""

from __future__ import annotations

from typing import Any

import orjson

from keel.errors import UpstreamError

__all__ = ["message_usage", "stop_reason", "to_message", "tool_input"]

_STOPS = {
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def to_message(request: dict[str, Any], body: bytes) -> bytes:
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
    text = message.get("content")
    text = text if isinstance(text, str) else ""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for call in message.get("tool_calls") or ():
        content.append(_tool_use(call))
    reason, sequence = stop_reason(choice, text, request.get("stop_sequences"))
    out: dict[str, Any] = {
        "id": message_id(answer.get("id")),
        "type": "message",
        "role": "assistant",
        "model": answer.get("model") or request.get("model"),
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": message_usage(answer.get("usage")),
    }
    return orjson.dumps(out)


def message_id(chat_id: Any) -> str:
    raw = chat_id if isinstance(chat_id, str) and chat_id else "keel"
    return "msg_" + raw.removeprefix("chatcmpl-")


def message_usage(usage: Any) -> dict[str, int]:
    """Anthropic's usage for an OpenAI usage object (zeros, which keel reads as none, if the
    upstream gave none: keel then estimates)."""
    if not isinstance(usage, dict):
        return {"input_tokens": 0, "output_tokens": 0}
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    prompt = prompt if isinstance(prompt, int) and prompt >= 0 else 0
    cached = cached if isinstance(cached, int) and 0 <= cached <= prompt else 0
    return {
        "input_tokens": prompt - cached,
        "output_tokens": completion if isinstance(completion, int) and completion >= 0 else 0,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }


def stop_reason(choice: dict[str, Any], text: str, sequences: Any) -> tuple[str, str | None]:
    """(stop_reason, stop_sequence) for a choice's finish."""
    finish = choice.get("finish_reason")
    if finish in _STOPS:
        return _STOPS[finish], None
    if isinstance(sequences, list) and sequences:
        named = choice.get("stop_reason")  # vLLM and others name the stop string they met
        if isinstance(named, str) and named in sequences:
            return "stop_sequence", named
        for sequence in sequences:
            if isinstance(sequence, str) and sequence and text.endswith(sequence):
                return "stop_sequence", sequence
    return "end_turn", None


def tool_input(arguments: Any, name: Any) -> dict[str, Any]:
    """A tool call's arguments as the JSON object Messages clients expect."""
    if arguments in (None, ""):
        return {}
    try:
        value = orjson.loads(arguments) if isinstance(arguments, str | bytes) else arguments
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise UpstreamError(
            f"The deployment called the tool {name!r} with arguments that are not a JSON object."
        )
    return value


def _tool_use(call: Any) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        raise UpstreamError("The deployment's answer has a tool call without a function.")
    name = function.get("name")
    return {
        "type": "tool_use",
        "id": call.get("id") or "toolu_keel",
        "name": name,
        "input": tool_input(function.get("arguments"), name),
    }

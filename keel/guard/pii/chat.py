"""Applying a text function to a chat request's messages and to a chat answer's choices.

Only text is touched: a message's string ``content``, the ``text`` of its ``{"type":
"text"}`` parts and its tool calls' ``arguments`` (JSON as the model wrote it: the text
function sees that text). Images, audio and unknown fields pass through unchanged. A body
in which nothing changes is returned as the same object, so a clean request costs no copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson

__all__ = [
    "PartFn",
    "chat_texts",
    "map_answer_text",
    "map_chat_text",
    "map_content",
    "map_json",
    "map_message",
]

TextFn = Callable[[str], str]
# Maps one part of a list content (with the text function), or returns it as it is.
PartFn = Callable[[Any, TextFn], Any]


def chat_texts(body: dict[str, Any]) -> Iterator[str]:
    """Every text a chat request carries, in message order."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            yield content
        elif isinstance(content, list):
            for part in content:
                if _is_text_part(part):
                    yield part["text"]


def map_chat_text(body: dict[str, Any], fn: TextFn) -> dict[str, Any]:
    """``body`` with ``fn`` applied to every text; copied only where something changed."""
    return _map_list(body, "messages", _map_message, fn)


def map_answer_text(answer: dict[str, Any], fn: TextFn) -> dict[str, Any]:
    """A (non-streamed) chat or text completion with ``fn`` applied to each choice's text."""
    return _map_list(answer, "choices", _map_choice, fn)


def _map_list(
    obj: dict[str, Any], key: str, map_item: Callable[[Any, TextFn], Any], fn: TextFn
) -> dict[str, Any]:
    items = obj.get(key)
    if not isinstance(items, list):
        return obj
    mapped = [map_item(item, fn) for item in items]
    if all(a is b for a, b in zip(mapped, items, strict=True)):
        return obj
    return {**obj, key: mapped}


def _map_message(message: Any, fn: TextFn) -> Any:
    message = map_message(message, fn, _map_part)
    if not isinstance(message, dict):
        return message
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        mapped = [_map_call(call, fn) for call in calls]
        if any(a is not b for a, b in zip(mapped, calls, strict=True)):
            message = {**message, "tool_calls": mapped}
    legacy = message.get("function_call")
    new = _map_function(legacy, fn)
    return message if new is legacy else {**message, "function_call": new}


def _map_call(call: Any, fn: TextFn) -> Any:
    function = call.get("function") if isinstance(call, dict) else None
    new = _map_function(function, fn)
    return call if new is function else {**call, "function": new}


def _map_function(function: Any, fn: TextFn) -> Any:
    """A function call's ``arguments`` (a JSON text) mapped."""
    if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
        return function
    out = fn(function["arguments"])
    return function if out == function["arguments"] else {**function, "arguments": out}


def map_json(value: Any, fn: TextFn) -> Any:
    """A JSON value (a tool call's input object) mapped as the text it encodes, so a name and
    its value are read together (``"password": "…"``); the same object if nothing changed.
    Where the mapped text is no longer JSON, each string in it is mapped on its own."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = orjson.dumps(value).decode()
    out = fn(text)
    if out == text:
        return value
    try:
        return orjson.loads(out)
    except orjson.JSONDecodeError:
        return _map_strings(value, fn)


def _map_strings(value: Any, fn: TextFn) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    return value


def map_message(message: Any, fn: TextFn, part: PartFn) -> Any:
    """A message with its content mapped (``map_content``); the same object if unchanged."""
    if not isinstance(message, dict):
        return message
    content = message.get("content")
    new = map_content(content, fn, part)
    return message if new is content else {**message, "content": new}


def map_content(content: Any, fn: TextFn, part: PartFn) -> Any:
    """A string content mapped by ``fn``, or a list of parts each by ``part``: the same
    object where nothing changed, so an unchanged body is left as it came."""
    if isinstance(content, str):
        out = fn(content)
        return content if out == content else out
    if not isinstance(content, list):
        return content
    parts = [part(p, fn) for p in content]
    return content if all(a is b for a, b in zip(parts, content, strict=True)) else parts


def _map_part(part: Any, fn: TextFn) -> Any:
    if not _is_text_part(part):
        return part
    out = fn(part["text"])
    return part if out == part["text"] else {**part, "text": out}


def _map_choice(choice: Any, fn: TextFn) -> Any:
    if not isinstance(choice, dict):
        return choice
    if isinstance(choice.get("text"), str):  # /v1/completions
        out = fn(choice["text"])
        return choice if out == choice["text"] else {**choice, "text": out}
    message = choice.get("message")
    new = _map_message(message, fn)
    return choice if new is message else {**choice, "message": new}


def _is_text_part(part: Any) -> bool:
    if not isinstance(part, dict) or part.get("type") != "text":
        return False
    return isinstance(part.get("text"), str)

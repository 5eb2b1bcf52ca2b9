"""Chat Completions to Bedrock's Converse API and back: pure functions over parsed JSON.

Requests: system messages become ``system`` blocks; user and assistant turns ``messages`` of
content blocks (text, images from data URLs, ``toolUse``, ``toolResult``); tools a
``toolConfig``; sampling fields ``inferenceConfig``. A field with no Converse counterpart is
refused (``Untranslatable``). Answers: the output message becomes the one choice,
``stopReason`` a finish_reason, ``usage`` OpenAI's usage: Bedrock counts cache reads and writes
apart from ``inputTokens``, so the prompt is their sum and the reads are its cached part.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from keel.providers.chat_content import add_turn, parts_of
from keel.providers.refusals import Untranslatable

__all__ = ["finish_reason", "to_converse", "to_openai", "usage"]

_IGNORED = frozenset(
    {
        "model",
        "stream",
        "stream_options",
        "user",
        "store",
        "metadata",
        "parallel_tool_calls",
        "service_tier",
        "messages",
        "tools",
        "tool_choice",
        "stop",
    }
)
_CONFIG = {
    "max_tokens": "maxTokens",
    "max_completion_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
}
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}


def to_converse(body: dict[str, Any]) -> dict[str, Any]:
    """A Chat Completions request body as a Converse body (the model is in the URL)."""
    for name in body:
        if name not in _IGNORED and name not in _CONFIG:
            raise Untranslatable(name, "a bedrock deployment cannot honour it; remove it")
    system, messages = _messages(body.get("messages") or [])
    out: dict[str, Any] = {"messages": messages}
    if system:
        out["system"] = system
    config = {_CONFIG[k]: v for k, v in body.items() if k in _CONFIG and v is not None}
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if config:
        out["inferenceConfig"] = config
    if body.get("tools"):
        out["toolConfig"] = _tool_config(body["tools"], body.get("tool_choice"))
    return out


def _messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        role = message.get("role")
        if role in ("system", "developer"):
            system += parts_of(message.get("content"), i, _image)
        elif role == "user":
            add_turn(out, "user", parts_of(message.get("content"), i, _image), "content")
        elif role == "assistant":
            blocks = parts_of(message.get("content"), i, _image)
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                use = {
                    "toolUseId": call.get("id", ""),
                    "name": function.get("name", ""),
                    "input": _arguments(function.get("arguments")),
                }
                blocks.append({"toolUse": use})
            add_turn(out, "assistant", blocks, "content")
        elif role == "tool":
            result = {
                "toolUseId": message.get("tool_call_id", ""),
                "content": [{"text": _text(message.get("content"))}],
            }
            add_turn(out, "user", [{"toolResult": result}], "content")
        else:
            raise Untranslatable(f"messages[{i}].role", f"{role!r} is not a chat role")
    return system, out


def _image(url: str, i: int, j: int) -> dict[str, Any]:
    mime, _, data = url.removeprefix("data:").partition(";base64,")
    if not url.startswith("data:") or not data or mime not in _FORMATS:
        raise Untranslatable(
            f"messages[{i}].content[{j}].image_url",
            "a bedrock deployment takes png, jpeg, gif or webp images as base64 data: URLs",
        )
    return {"image": {"format": _FORMATS[mime], "source": {"bytes": data}}}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return content if isinstance(content, str) else orjson.dumps(content).decode()


def _arguments(raw: Any) -> Any:
    try:
        return orjson.loads(raw) if isinstance(raw, str | bytes) else (raw or {})
    except orjson.JSONDecodeError:
        return {"arguments": raw}


def _tool_config(tools: list[dict[str, Any]], choice: Any) -> dict[str, Any]:
    specs = []
    for tool in tools:
        if tool.get("type") != "function":
            raise Untranslatable(
                "tools", f"tool type {tool.get('type')!r}: only functions translate"
            )
        function = tool.get("function") or {}
        spec = {
            "name": function.get("name", ""),
            "inputSchema": {"json": function.get("parameters") or {"type": "object"}},
        }
        if function.get("description"):
            spec["description"] = function["description"]
        specs.append({"toolSpec": spec})
    config: dict[str, Any] = {"tools": specs}
    if choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        config["toolChoice"] = {"tool": {"name": choice["function"].get("name", "")}}
    elif choice == "none":
        raise Untranslatable("tool_choice", "'none' has no Converse counterpart; send no tools")
    elif choice not in (None, "auto"):
        raise Untranslatable("tool_choice", f"{choice!r} is not translated")
    return config


def to_openai(answer: dict[str, Any], model: str, request_id: str) -> dict[str, Any]:
    """A Converse answer as a Chat Completions body."""
    text, reasoning, calls = [], [], []
    for block in ((answer.get("output") or {}).get("message") or {}).get("content") or []:
        if "text" in block:
            text.append(block["text"])
        elif "toolUse" in block:
            use = block["toolUse"]
            calls.append(
                {
                    "id": use.get("toolUseId", ""),
                    "type": "function",
                    "function": {
                        "name": use.get("name", ""),
                        "arguments": orjson.dumps(use.get("input") or {}).decode(),
                    },
                }
            )
        elif "reasoningContent" in block:
            reasoning.append(
                ((block["reasoningContent"] or {}).get("reasoningText") or {}).get("text", "")
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": finish_reason(answer.get("stopReason")),
    }
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage(answer.get("usage") or {}),
    }


def finish_reason(reason: str | None) -> str:
    return _FINISH.get(reason or "", "stop")


def usage(raw: dict[str, Any]) -> dict[str, Any]:
    """Converse's usage as OpenAI's. Cache writes count as prompt tokens at the input price."""
    read = int(raw.get("cacheReadInputTokens") or 0)
    prompt = int(raw.get("inputTokens") or 0) + read + int(raw.get("cacheWriteInputTokens") or 0)
    completion = int(raw.get("outputTokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read},
    }

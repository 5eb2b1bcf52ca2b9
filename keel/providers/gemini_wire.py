"""Chat Completions to Gemini's generateContent and back: pure functions over parsed JSON.

Requests: system messages become ``systemInstruction``; user and assistant turns ``contents``
with roles user and model; images (data URLs) ``inlineData``; tools ``functionDeclarations``
(JSON Schema as ``parametersJsonSchema``); assistant tool calls ``functionCall`` parts and
tool messages ``functionResponse`` parts; sampling fields ``generationConfig``. A field that
has no Gemini counterpart is refused (``Untranslatable``) rather than silently dropped.
Answers: candidates become choices, ``finishReason`` a finish_reason, ``usageMetadata`` the
usage (thinking tokens are output; cached tokens are of the prompt, which counts them).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from keel.providers.chat_content import add_turn, parts_of
from keel.providers.refusals import Untranslatable

__all__ = ["finish_reason", "split_parts", "to_gemini", "to_openai", "usage"]

# Fields that change nothing upstream (keel's own, or OpenAI bookkeeping) pass silently.
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
        "response_format",
    }
)
_CONFIG = {
    "temperature": "temperature",
    "top_p": "topP",
    "max_tokens": "maxOutputTokens",
    "max_completion_tokens": "maxOutputTokens",
    "n": "candidateCount",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
}
_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
_CHOICE = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def to_gemini(body: dict[str, Any]) -> dict[str, Any]:
    """A Chat Completions request body as a generateContent body."""
    for name in body:
        if name not in _IGNORED and name not in _CONFIG and name != "stop":
            raise Untranslatable(name, "a gemini deployment cannot honour it; remove it")
    system, contents = _contents(body.get("messages") or [])
    out: dict[str, Any] = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    config = _generation_config(body)
    if config:
        out["generationConfig"] = config
    if body.get("tools"):
        out["tools"] = [{"functionDeclarations": [_declaration(t) for t in body["tools"]]}]
    choice = body.get("tool_choice")
    if choice is not None:
        out["toolConfig"] = {"functionCallingConfig": _tool_choice(choice)}
    return out


def _generation_config(body: dict[str, Any]) -> dict[str, Any]:
    config = {_CONFIG[k]: v for k, v in body.items() if k in _CONFIG and v is not None}
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    fmt = body.get("response_format") or {}
    if fmt.get("type") in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
    if fmt.get("type") == "json_schema":
        config["responseJsonSchema"] = (fmt.get("json_schema") or {}).get("schema", {})
    return config


def _contents(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, for the functionResponse
    for i, message in enumerate(messages):
        role = message.get("role")
        if role in ("system", "developer"):
            system += parts_of(message.get("content"), i, _image)
        elif role == "user":
            add_turn(contents, "user", parts_of(message.get("content"), i, _image), "parts")
        elif role == "assistant":
            parts = parts_of(message.get("content"), i, _image)
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                names[call.get("id", "")] = function.get("name", "")
                parts.append(
                    {
                        "functionCall": {
                            "name": function.get("name", ""),
                            "args": _arguments(function.get("arguments")),
                        }
                    }
                )
            add_turn(contents, "model", parts, "parts")
        elif role == "tool":
            name = names.get(message.get("tool_call_id", ""), message.get("name", ""))
            response = {"name": name, "response": _result(message.get("content"))}
            add_turn(contents, "user", [{"functionResponse": response}], "parts")
        else:
            raise Untranslatable(f"messages[{i}].role", f"{role!r} is not a chat role")
    return system, contents


def _image(url: str, i: int, j: int) -> dict[str, Any]:
    if not url.startswith("data:") or ";base64," not in url:
        raise Untranslatable(
            f"messages[{i}].content[{j}].image_url",
            "a gemini deployment takes images as data: URLs (base64); send the image inline",
        )
    mime, data = url[5:].split(";base64,", 1)
    return {"inlineData": {"mimeType": mime, "data": data}}


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        args = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    except orjson.JSONDecodeError:
        return {"arguments": raw}
    return args if isinstance(args, dict) else {"arguments": args}


def _result(content: Any) -> dict[str, Any]:
    """A tool's answer as the object functionResponse wants: its JSON, or its text."""
    if isinstance(content, list):
        content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
    try:
        value = orjson.loads(content) if isinstance(content, str) else content
    except orjson.JSONDecodeError:
        value = content
    return value if isinstance(value, dict) else {"content": value}


def _declaration(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise Untranslatable("tools", f"tool type {tool.get('type')!r}: only functions translate")
    function = tool.get("function") or {}
    out: dict[str, Any] = {"name": function.get("name", "")}
    if function.get("description"):
        out["description"] = function["description"]
    if function.get("parameters"):
        out["parametersJsonSchema"] = function["parameters"]
    return out


def _tool_choice(choice: Any) -> dict[str, Any]:
    if isinstance(choice, str) and choice in _CHOICE:
        return {"mode": _CHOICE[choice]}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"mode": "ANY", "allowedFunctionNames": [choice["function"].get("name", "")]}
    raise Untranslatable("tool_choice", f"{choice!r} is not translated")


def to_openai(answer: dict[str, Any], model: str, request_id: str) -> dict[str, Any]:
    """A generateContent answer as a Chat Completions body."""
    choices = []
    for n, candidate in enumerate(answer.get("candidates") or []):
        text, reasoning, calls = split_parts(candidate, 0)
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if reasoning:
            message["reasoning_content"] = reasoning
        if calls:
            message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in calls]
        reason = finish_reason(candidate.get("finishReason"), bool(calls))
        choices.append(
            {
                "index": candidate.get("index", n),
                "message": message,
                "finish_reason": reason or "stop",
            }
        )
    return {
        "id": answer.get("responseId") or f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.get("modelVersion") or model,
        "choices": choices,
        "usage": usage(answer.get("usageMetadata") or {}),
    }


def split_parts(
    candidate: dict[str, Any], first_call: int
) -> tuple[str, str, list[dict[str, Any]]]:
    """A candidate's text, thought text, and function calls as OpenAI tool calls (indexed
    from ``first_call``, so a stream's calls keep distinct indexes)."""
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if "functionCall" in part:
            call = part["functionCall"]
            index = first_call + len(calls)
            calls.append(
                {
                    "index": index,
                    "id": call.get("id") or f"call_{index}",
                    "type": "function",
                    "function": {
                        "name": call.get("name", ""),
                        "arguments": orjson.dumps(call.get("args") or {}).decode(),
                    },
                }
            )
        elif part.get("thought"):
            reasoning.append(part.get("text", ""))
        elif "text" in part:
            text.append(part["text"])
    return "".join(text), "".join(reasoning), calls


def finish_reason(reason: str | None, called: bool) -> str | None:
    if reason is None or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    if called and reason == "STOP":
        return "tool_calls"
    return _FINISH.get(reason, "stop")


def usage(meta: dict[str, Any]) -> dict[str, Any]:
    """Gemini's usageMetadata as OpenAI's usage: the prompt counts its cached part and the
    tool-use prompt; the completion counts the thinking, billed as output."""
    prompt = int(meta.get("promptTokenCount") or 0) + int(meta.get("toolUsePromptTokenCount") or 0)
    thoughts = int(meta.get("thoughtsTokenCount") or 0)
    completion = int(meta.get("candidatesTokenCount") or 0) + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": int(meta.get("cachedContentTokenCount") or 0)},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }

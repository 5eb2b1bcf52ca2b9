"""An Anthropic Messages request as a Chat Completions request.

Translated: ``system`` (a string or text blocks) to a system message; each message's blocks
(text; images, base64 or URL, to ``image_url`` parts; ``tool_use`` to the assistant's
``tool_calls``; ``tool_result`` to ``tool`` messages, before the user's other blocks);
``tools`` to functions; ``tool_choice`` (``auto``, ``any`` as ``required``, ``tool``, ``none``;
``disable_parallel_tool_use`` as ``parallel_tool_calls: false``); ``max_tokens``;
``stop_sequences`` to ``stop``; ``temperature``; ``top_p``; ``metadata.user_id`` to ``user``;
``stream`` (with the usage chunk asked for). ``cache_control`` marks are dropped (Chat
Completions caches on its own); a tool result's ``is_error`` becomes an ``Error:`` prefix.

Refused with a 400 naming the field, since Chat Completions has no way to say it: ``top_k``,
``thinking`` (the parameter and thinking blocks), server tools, document and other blocks, and
any top-level field not listed above. Such requests pass only to deployments that serve the
Messages API natively.
"""

from __future__ import annotations

from typing import Any

import orjson

from keel.errors import BadRequest

__all__ = ["chat_body", "check_request", "to_chat"]

_TRANSLATED = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "metadata",
        "tools",
        "tool_choice",
    }
)
_NATIVE_ONLY = {
    "top_k": "Chat Completions has no top_k. Leave it out, or use a model whose deployments "
    "serve the Messages API natively.",
    "thinking": "Chat Completions has no extended thinking. Leave it out, or use a model whose "
    "deployments serve the Messages API natively.",
}
_BLOCKS = {
    "user": frozenset({"text", "image", "tool_result"}),
    "assistant": frozenset({"text", "tool_use"}),
}
_NATIVE_HINT = "or use a model whose deployments serve the Messages API natively"


def check_request(body: dict[str, Any]) -> BadRequest | None:
    """The first thing in ``body`` Chat Completions cannot say, as a 400 naming it."""
    for name in body:
        if name in _NATIVE_ONLY:
            return BadRequest(f"'{name}' cannot be translated: {_NATIVE_ONLY[name]}", param=name)
        if name not in _TRANSLATED:
            return BadRequest(
                f"'{name}' cannot be translated to Chat Completions for this model's deployment. "
                f"Leave it out, {_NATIVE_HINT}.",
                param=name,
            )
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        if not isinstance(message, dict):
            continue  # to_chat names it
        content = message.get("content")
        allowed = _BLOCKS.get(str(message.get("role")), frozenset())
        for j, block in enumerate(content if isinstance(content, list) else ()):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind not in allowed:
                return _block_refused(f"messages[{i}].content[{j}]", kind)
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        return BadRequest("'tools' must be a list of tool definitions.", param="tools")
    for i, tool in enumerate(tools or ()):
        if isinstance(tool, dict) and tool.get("type") not in (None, "custom"):
            return BadRequest(
                f"tools[{i}] is a server tool ({tool.get('type')!r}), which Chat Completions "
                f"cannot run. Leave it out, {_NATIVE_HINT}.",
                param=f"tools[{i}].type",
            )
    return None


def _block_refused(where: str, kind: Any) -> BadRequest:
    if kind in ("thinking", "redacted_thinking"):
        reason = "thinking blocks cannot be translated to Chat Completions"
    else:
        reason = f"a {kind!r} block cannot be translated to Chat Completions here"
    return BadRequest(
        f"{where} is refused: {reason}. Leave it out, {_NATIVE_HINT}.", param=f"{where}.type"
    )


def to_chat(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """The Chat Completions body for ``body`` (raises what ``check_request`` finds)."""
    refused = check_request(body)
    if refused is not None:
        raise refused
    return chat_body(body, stream)


def chat_body(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """``to_chat`` for a body ``check_request`` let through (the router asks it first)."""
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system is not None:
        messages.append({"role": "system", "content": _text(system, "system")})
    for i, message in enumerate(body["messages"]):
        messages.extend(_message(message, f"messages[{i}]"))
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    chat["max_tokens"] = body["max_tokens"]
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    user = (
        body.get("metadata", {}).get("user_id") if isinstance(body.get("metadata"), dict) else None
    )
    if isinstance(user, str):
        chat["user"] = user
    if body.get("tools"):
        chat["tools"] = [_tool(t, f"tools[{i}]") for i, t in enumerate(body["tools"])]
    if body.get("tool_choice") is not None:
        chat.update(_tool_choice(body["tool_choice"]))
    if stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _text(content: Any, where: str) -> str:
    """A string, or text blocks joined: a system prompt, a tool result."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") != "text":
                kind = block.get("type") if isinstance(block, dict) else None
                raise _block_refused(f"{where}[{j}]", kind)
            texts.append(_str(block.get("text"), f"{where}[{j}].text"))
        return "\n\n".join(texts)
    raise BadRequest(f"'{where}' must be a string or a list of text blocks.", param=where)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"'{where}' must be a string.", param=where)
    return value


def _message(message: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(message, dict):
        raise BadRequest(f"'{where}' must be an object with 'role' and 'content'.", param=where)
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise BadRequest(
            f"'{where}.role' must be 'user' or 'assistant' (the system prompt goes in 'system').",
            param=f"{where}.role",
        )
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list):
        raise BadRequest(
            f"'{where}.content' must be a string or a list of content blocks.",
            param=f"{where}.content",
        )
    if role == "assistant":
        return [_assistant(content, f"{where}.content")]
    return _user(content, f"{where}.content")


def _user(blocks: list[Any], where: str) -> list[dict[str, Any]]:
    """Tool results first (each answers the assistant's call just before), then the rest."""
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        at = f"{where}[{j}]"
        kind = block["type"]
        if kind == "text":
            parts.append({"type": "text", "text": _str(block.get("text"), f"{at}.text")})
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": _image_url(block, at)}})
        else:
            results.append(_tool_result(block, at))
    if not parts:
        return results
    if len(parts) == 1 and parts[0]["type"] == "text":
        return [*results, {"role": "user", "content": parts[0]["text"]}]
    return [*results, {"role": "user", "content": parts}]


def _image_url(block: dict[str, Any], where: str) -> str:
    source = block.get("source")
    if not isinstance(source, dict):
        source = {}
    kind = source.get("type")
    if kind == "base64":
        media = _str(source.get("media_type"), f"{where}.source.media_type")
        data = _str(source.get("data"), f"{where}.source.data")
        return f"data:{media};base64,{data}"
    if kind == "url":
        return _str(source.get("url"), f"{where}.source.url")
    raise BadRequest(
        f"'{where}.source.type' must be 'base64' or 'url' to be translated to Chat Completions.",
        param=f"{where}.source.type",
    )


def _tool_result(block: dict[str, Any], where: str) -> dict[str, Any]:
    content = block.get("content")
    text = "" if content is None else _text(content, f"{where}.content")
    if block.get("is_error") is True:
        text = "Error: " + text
    call_id = _str(block.get("tool_use_id"), f"{where}.tool_use_id")
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def _assistant(blocks: list[Any], where: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        at = f"{where}[{j}]"
        if block["type"] == "text":
            texts.append(_str(block.get("text"), f"{at}.text"))
            continue
        arguments = orjson.dumps(block.get("input", {})).decode()
        function = {"name": _str(block.get("name"), f"{at}.name"), "arguments": arguments}
        calls.append(
            {"id": _str(block.get("id"), f"{at}.id"), "type": "function", "function": function}
        )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tool(tool: Any, where: str) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise BadRequest(
            f"'{where}' must be an object with 'name' and 'input_schema'.", param=where
        )
    function: dict[str, Any] = {"name": _str(tool.get("name"), f"{where}.name")}
    if tool.get("description") is not None:
        function["description"] = _str(tool["description"], f"{where}.description")
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        raise BadRequest(f"'{where}.input_schema' must be a JSON schema object.", param=where)
    function["parameters"] = schema
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> dict[str, Any]:
    kind = choice.get("type") if isinstance(choice, dict) else None
    chosen: Any
    if kind == "auto":
        chosen = "auto"
    elif kind == "any":
        chosen = "required"
    elif kind == "none":
        chosen = "none"
    elif kind == "tool":
        name = _str(choice.get("name"), "tool_choice.name")
        chosen = {"type": "function", "function": {"name": name}}
    else:
        raise BadRequest(
            "'tool_choice.type' must be 'auto', 'any', 'tool' or 'none'.", param="tool_choice"
        )
    out: dict[str, Any] = {"tool_choice": chosen}
    if isinstance(choice, dict) and choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False
    return out

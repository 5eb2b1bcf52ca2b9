"""A Chat Completions request as an Anthropic Messages request.

System (and developer) messages become ``system``; user, assistant and tool messages become
content blocks (text, image, tool_use, tool_result), consecutive turns of one role merged, as
Anthropic requires alternating turns. A field with no Anthropic equivalent is refused with a
``BadRequest`` naming it, never dropped: an answer computed without it would look right and not
be. Anthropic's own ``top_k`` and ``thinking`` are passed on as they are.
"""

from __future__ import annotations

from typing import Any

import orjson

from keel.errors import BadRequest

__all__ = ["to_messages"]

# Chat fields that have no Anthropic equivalent unless they hold their default (or are null).
_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "n": (1,),
    "logprobs": (False,),
    "top_logprobs": (0,),
    "presence_penalty": (0, 0.0),
    "frequency_penalty": (0, 0.0),
    "logit_bias": ({},),
    "seed": (),
    "audio": (),
    "prediction": (),
    "web_search_options": (),
    "reasoning_effort": (),
    "service_tier": (),
    "functions": (),
    "function_call": (),
    "store": (False,),
    "metadata": ({},),
    "modalities": (["text"],),
}
# Read by the translation itself (the rest of _FIELDS), or keel's own (stream_options).
_PASSED = ("temperature", "top_p", "top_k", "thinking", "stream")
_READ = frozenset(
    {
        *_PASSED,
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "user",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "stream_options",
    }
)


def to_messages(body: dict[str, Any], default_max_tokens: int) -> dict[str, Any]:
    """The Messages body for the Chat Completions ``body`` (``model`` already the upstream's)."""
    _refuse_untranslatable(body)
    out: dict[str, Any] = {"model": body["model"]}
    system, turns = _conversation(body.get("messages"))
    out["max_tokens"] = _max_tokens(body, default_max_tokens)
    if system:
        out["system"] = system[0]["text"] if len(system) == 1 else system
    out["messages"] = turns
    for name in _PASSED:
        if body.get(name) is not None:
            out[name] = body[name]
    temperature = out.get("temperature")
    if isinstance(temperature, int | float) and temperature > 1:
        raise BadRequest(
            f"temperature {temperature} is out of Anthropic's range (0 to 1); send at most 1.",
            param="temperature",
        )
    stop = body.get("stop")
    if stop is not None:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else stop
    if body.get("user") is not None:
        out["metadata"] = {"user_id": body["user"]}
    if body.get("tools"):
        out["tools"] = [_tool(t, i) for i, t in enumerate(body["tools"])]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None:
        out["tool_choice"] = choice
    return out


def _refuse_untranslatable(body: dict[str, Any]) -> None:
    for name, value in body.items():
        if name in _READ or value is None:
            continue
        if name not in _DEFAULTS:
            raise _refused(name, "is not a Chat Completions field keel can translate")
        if value not in _DEFAULTS[name]:
            raise _refused(name, f"= {_short(value)} has no equivalent in Anthropic's API")
    response_format = body.get("response_format")
    if response_format is not None and response_format != {"type": "text"}:
        raise _refused(
            "response_format",
            "other than text has no equivalent; describe the "
            "format in the prompt or use a tool with an input schema instead",
        )


def _refused(name: str, why: str) -> BadRequest:
    return BadRequest(
        f"The field '{name}' {why} for this model's Anthropic deployment. Remove it, or use "
        "a model served by an OpenAI-compatible deployment.",
        param=name,
        code="unsupported_field",
    )


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."


def _max_tokens(body: dict[str, Any], default: int) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadRequest(f"The field '{name}' must be a positive integer.", param=name)
            return value
    return default


def _conversation(messages: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The system blocks, and the turns with consecutive ones of a role merged."""
    if not isinstance(messages, list) or not messages:
        raise BadRequest("The field 'messages' must be a non-empty array.", param="messages")
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise BadRequest(f"{where} must be an object.", param=where)
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_blocks(message.get("content"), where, ("text",)))
            continue
        role, blocks = _turn(message, role, where)
        if not blocks:
            continue  # an empty turn: Anthropic refuses empty content
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


def _turn(message: dict[str, Any], role: Any, where: str) -> tuple[str, list[dict[str, Any]]]:
    if role == "user":
        return "user", _blocks(message.get("content"), where, ("text", "image_url"))
    if role == "assistant":
        blocks = _blocks(message.get("content"), where, ("text", "refusal"))
        calls = message.get("tool_calls") or []
        blocks.extend(_tool_use(call, f"{where}.tool_calls[{j}]") for j, call in enumerate(calls))
        return "assistant", blocks
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str):
            raise BadRequest(f"{where}.tool_call_id must be a string.", param=where)
        content = _blocks(message.get("content"), where, ("text",))
        result = {"type": "tool_result", "tool_use_id": call_id, "content": content}
        return "user", [result]
    raise BadRequest(
        f"{where}.role {role!r} cannot be translated for Anthropic; use system, user, "
        "assistant or tool.",
        param=f"{where}.role",
    )


def _blocks(content: Any, where: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """A message's content as Anthropic content blocks (empty text left out)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise BadRequest(f"{where}.content must be a string or an array.", param=where)
    blocks = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in kinds:
            raise BadRequest(
                f"{where}.content[{j}] of type {kind!r} cannot be translated for Anthropic "
                f"here; this role takes {', '.join(kinds)}.",
                param=f"{where}.content[{j}].type",
            )
        assert isinstance(part, dict)
        if kind == "image_url":
            blocks.append(_image(part.get("image_url"), f"{where}.content[{j}]"))
        elif part.get(kind):  # text, or a refusal the assistant gave
            blocks.append({"type": "text", "text": part[kind]})
    return blocks


def _image(image: Any, where: str) -> dict[str, Any]:
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str):
        raise BadRequest(f"{where}.image_url.url must be a string.", param=where)
    if url.startswith("data:"):
        head, sep, data = url[5:].partition(",")
        media_type, _, encoding = head.partition(";")
        if not sep or encoding != "base64":
            raise BadRequest(
                f"{where}: a data URL must be base64 (data:image/png;base64,...).", param=where
            )
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _tool_use(call: Any, where: str) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(call.get("id"), str):
        raise BadRequest(f"{where} must have an id and a function.", param=where)
    arguments = function.get("arguments") or "{}"
    try:
        parsed = orjson.loads(arguments)
    except (orjson.JSONDecodeError, TypeError):
        parsed = None
    if not isinstance(parsed, dict):
        raise BadRequest(
            f"{where}.function.arguments must be a JSON object encoded as a string.", param=where
        )
    return {"type": "tool_use", "id": call["id"], "name": function.get("name"), "input": parsed}


def _tool(tool: Any, i: int) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) else None
    if (
        not isinstance(tool, dict)
        or tool.get("type") != "function"
        or not isinstance(function, dict)
    ):
        raise BadRequest(
            f"tools[{i}] must be a function tool ({{type: function, function: {{...}}}}); "
            "other tool types cannot be translated for Anthropic.",
            param=f"tools[{i}]",
        )
    out: dict[str, Any] = {"name": function.get("name")}
    if function.get("description"):
        out["description"] = function["description"]
    out["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any]
    if choice is None:
        if parallel is not False:
            return None
        out = {"type": "auto"}
    elif choice in ("auto", "none"):
        out = {"type": choice}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        out = {"type": "tool", "name": choice["function"].get("name")}
    else:
        raise BadRequest(
            "tool_choice must be auto, none, required or {type: function, function: {name}}.",
            param="tool_choice",
        )
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out

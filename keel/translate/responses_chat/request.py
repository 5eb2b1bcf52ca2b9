"""An OpenAI Responses request as a Chat Completions request.

Translated: ``instructions`` to a first system message; ``input`` (a string, or a list of
items: messages of ``input_text`` / ``input_image`` parts, or an assistant's ``output_text``;
``function_call`` items to the assistant's ``tool_calls``, consecutive calls in one message;
``function_call_output`` items to ``tool`` messages); ``developer`` messages to system ones;
``tools`` of type ``function``; ``tool_choice``; ``parallel_tool_calls``;
``max_output_tokens`` to ``max_tokens``; ``temperature``; ``top_p``; ``text.format``
(``json_schema``, ``json_object``, ``text``) to ``response_format``; ``user`` (or else
``safety_identifier``) to ``user``; ``stream`` (with the usage chunk asked for). Read by keel
and not sent: ``metadata`` (echoed in the answer), ``store`` and ``previous_response_id``
(keel's own: the edge has put the chain's items in ``input`` already),
``stream_options``, ``truncation: disabled``.

Refused with a 400 naming the field, since Chat Completions has no way to say it:
``reasoning``, tools other than functions (``web_search``, ``file_search``, ...), ``include``,
``top_logprobs``, ``truncation: auto``, file inputs, item references, reasoning items, and any
other top-level field. A field sent as ``null`` counts as not sent.
"""

from __future__ import annotations

from typing import Any

from keel.errors import BadRequest

__all__ = ["chat_body", "check_request", "to_chat"]

_TRANSLATED = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "temperature",
        "top_p",
        "text",
        "user",
        "safety_identifier",
        "metadata",
        "store",
        "stream",
        "stream_options",
        "previous_response_id",
        "truncation",
        "include",
    }
)
_HINT = "Leave it out, or use a model whose deployments serve the Responses API natively."
_NATIVE_ONLY = {
    "reasoning": "Chat Completions has no reasoning options.",
    "top_logprobs": "keel does not translate log probabilities.",
    "background": "keel answers Responses calls in the foreground only.",
    "conversation": "keel chains responses with 'previous_response_id' only.",
    "prompt": "keel does not store prompt templates.",
}
_CHAT_ROLES = {"user": "user", "system": "system", "developer": "system", "assistant": "assistant"}
_CHOICES = frozenset({"auto", "none", "required"})


def check_request(body: dict[str, Any]) -> BadRequest | None:
    """The first field of ``body`` Chat Completions cannot say, as a 400 naming it."""
    for name, value in body.items():
        if value is None:
            continue
        if name in _NATIVE_ONLY:
            return BadRequest(
                f"'{name}' cannot be translated: {_NATIVE_ONLY[name]} {_HINT}", param=name
            )
        if name not in _TRANSLATED:
            return BadRequest(
                f"'{name}' cannot be translated to Chat Completions for this model's "
                f"deployment. {_HINT}",
                param=name,
            )
    if body.get("include"):
        return BadRequest(f"'include' cannot be translated: {_HINT}", param="include")
    if body.get("truncation") not in (None, "disabled"):
        return BadRequest(
            "'truncation' may only be 'disabled' when translated to Chat Completions.",
            param="truncation",
        )
    for i, tool in enumerate(body.get("tools") or ()):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "function":
            return BadRequest(
                f"tools[{i}] is a {kind!r} tool, which Chat Completions cannot run: only "
                f"'function' tools are translated. {_HINT}",
                param=f"tools[{i}].type",
            )
    return None


def to_chat(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """The Chat Completions body for ``body`` (raises what ``check_request`` finds)."""
    refused = check_request(body)
    if refused is not None:
        raise refused
    return chat_body(body, stream)


def chat_body(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """``to_chat`` for a body ``check_request`` let through (the router asks it first)."""
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        messages.append({"role": "system", "content": _str(instructions, "instructions")})
    messages.extend(chat_messages(body.get("input")))
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "parallel_tool_calls"):
        if body.get(name) is not None:
            chat[name] = body[name]
    user = body.get("user") or body.get("safety_identifier")
    if user is not None:
        chat["user"] = _str(user, "user")
    if body.get("tools"):
        chat["tools"] = [_tool(t, f"tools[{i}]") for i, t in enumerate(body["tools"])]
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    response_format = _format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    if stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def chat_messages(items: Any) -> list[dict[str, Any]]:
    """The chat messages for a Responses ``input``: a string, or a list of items."""
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise BadRequest("'input' must be a string or a list of input items.", param="input")
    messages: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise BadRequest(f"'{where}' must be an input item (an object).", param=where)
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item, where))
        elif kind == "function_call":
            _function_call(messages, item, where)
        elif kind == "function_call_output":
            messages.append(_function_output(item, where))
        else:
            raise BadRequest(
                f"{where} is a {kind!r} item, which cannot be translated to Chat Completions: "
                f"only messages, function_call and function_call_output items are. {_HINT}",
                param=f"{where}.type",
            )
    return messages


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"'{where}' must be a string.", param=where)
    return value


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    role = _CHAT_ROLES.get(str(item.get("role")))
    if role is None:
        raise BadRequest(
            f"'{where}.role' must be 'user', 'assistant', 'system' or 'developer'.",
            param=f"{where}.role",
        )
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise BadRequest(
            f"'{where}.content' must be a string or a list of content parts.",
            param=f"{where}.content",
        )
    parts = [_part(part, f"{where}.content[{j}]") for j, part in enumerate(content)]
    if role != "user" or all(p["type"] == "text" for p in parts):
        if any(p["type"] != "text" for p in parts):
            raise BadRequest(
                f"'{where}': only a user message may hold images.", param=f"{where}.content"
            )
        return {"role": role, "content": "".join(p["text"] for p in parts)}
    return {"role": role, "content": parts}


def _part(part: Any, where: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text"):
        return {"type": "text", "text": _str(part.get("text"), f"{where}.text")}
    if kind == "refusal":
        return {"type": "text", "text": _str(part.get("refusal"), f"{where}.refusal")}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str):
            raise BadRequest(
                f"'{where}.image_url' must be a URL (or a data: URL): images by 'file_id' "
                f"cannot be translated. {_HINT}",
                param=f"{where}.image_url",
            )
        image: dict[str, Any] = {"url": url}
        if part.get("detail") is not None:
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    raise BadRequest(
        f"{where} is a {kind!r} part, which cannot be translated to Chat Completions: only "
        f"input_text, input_image and output_text are. {_HINT}",
        param=f"{where}.type",
    )


def _function_call(messages: list[dict[str, Any]], item: dict[str, Any], where: str) -> None:
    """The call joins the assistant message just before (the model's calls of one turn)."""
    arguments = item.get("arguments")
    function = {"name": _str(item.get("name"), f"{where}.name"), "arguments": arguments or "{}"}
    _str(function["arguments"], f"{where}.arguments")
    call_id = _str(item.get("call_id"), f"{where}.call_id")
    call: dict[str, Any] = {"id": call_id, "type": "function", "function": function}
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant":
        last.setdefault("tool_calls", []).append(call)
        return
    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _function_output(item: dict[str, Any], where: str) -> dict[str, Any]:
    output = item.get("output")
    if isinstance(output, list):
        parts = [_part(p, f"{where}.output[{j}]") for j, p in enumerate(output)]
        if any(p["type"] != "text" for p in parts):
            raise BadRequest(
                f"'{where}.output' may hold only text to be translated.", param=f"{where}.output"
            )
        output = "".join(p["text"] for p in parts)
    call_id = _str(item.get("call_id"), f"{where}.call_id")
    return {"role": "tool", "tool_call_id": call_id, "content": _str(output, f"{where}.output")}


def _tool(tool: dict[str, Any], where: str) -> dict[str, Any]:
    function: dict[str, Any] = {"name": _str(tool.get("name"), f"{where}.name")}
    for name in ("description", "parameters", "strict"):
        if tool.get(name) is not None:
            function[name] = tool[name]
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str) and choice in _CHOICES:
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": _str(choice.get("name"), "tool_choice")}}
    raise BadRequest(
        "'tool_choice' must be 'auto', 'none', 'required' or {'type': 'function', 'name': ...} "
        f"to be translated. {_HINT}",
        param="tool_choice",
    )


def _format(text: Any) -> dict[str, Any] | None:
    """``text.format`` as a chat ``response_format`` (None: plain text)."""
    if text is None:
        return None
    if not isinstance(text, dict):
        raise BadRequest("'text' must be an object with a 'format'.", param="text")
    if text.get("verbosity") is not None:
        raise BadRequest(f"'text.verbosity' cannot be translated. {_HINT}", param="text.verbosity")
    spec = text.get("format")
    kind = spec.get("type") if isinstance(spec, dict) else None
    if spec is None or kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema: dict[str, Any] = {"name": _str(spec.get("name"), "text.format.name")}
        for name in ("schema", "description", "strict"):
            if spec.get(name) is not None:
                schema[name] = spec[name]
        return {"type": "json_schema", "json_schema": schema}
    raise BadRequest(
        "'text.format.type' must be 'text', 'json_object' or 'json_schema'.",
        param="text.format.type",
    )

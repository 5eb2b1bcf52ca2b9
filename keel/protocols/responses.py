"""OpenAI's Responses bodies (``/v1/responses``): a request's ``instructions`` and ``input``
(a string, or items: messages of text parts, function calls and their outputs), an answer's
``output`` items, and a stream of typed events (``response.created`` ...
``response.completed``), each with its ``sequence_number``.

A stream's text is its ``response.output_text.delta`` events; its usage comes whole with
``response.completed`` (or ``response.incomplete``), which also repeats the whole output: the
PII guard rewrites that copy, and each ``.done`` event's, to the text it let out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeGuard

from keel.answer import Event
from keel.protocols.base import ClientProtocol, EventGuard, Seen, TextFn, TextGuard, Tokens

if TYPE_CHECKING:
    from keel.call import Endpoint

__all__ = ["RESPONSES", "ResponsesProtocol", "responses_tokens"]

_FINAL = frozenset({"response.completed", "response.incomplete"})
_STARTS = frozenset({"response.output_text.delta", "response.function_call_arguments.delta"})
_RETEXT = frozenset({"response.content_part.done", "response.output_item.done", *_FINAL})
_TEXT_PARTS = frozenset({"input_text", "output_text"})
# The one text field of the items that are not messages.
_ITEM_TEXT = {"function_call": "arguments", "function_call_output": "output"}
# A stream's text deltas, and the field of their done event that repeats the whole text.
_DELTAS = {
    "response.output_text.delta": "text",
    "response.function_call_arguments.delta": "arguments",
}
_DONE = {
    "response.output_text.done": "text",
    "response.function_call_arguments.done": "arguments",
}


def responses_tokens(raw: Any) -> Tokens | None:
    """A Responses ``usage`` object's counts (input includes the cached), or None."""
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("input_tokens"), raw.get("output_tokens")
    if not _count(prompt) or not _count(completion) or prompt == 0:
        return None
    details = raw.get("input_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return prompt, completion, cached if _count(cached) and cached <= prompt else 0


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class ResponsesProtocol(ClientProtocol):
    """OpenAI Responses bodies."""

    name = "openai-responses"
    chat_chunks = False

    def prompt(self, endpoint: Endpoint, body: dict[str, Any]) -> Any:
        instructions = body.get("instructions")
        given = body.get("input")
        return given if instructions is None else {"instructions": instructions, "input": given}

    def resumable(self, endpoint: Endpoint, body: dict[str, Any]) -> bool:
        return False  # a splice continues chat chunks; a broken Responses stream ends failed

    def answer_tokens(self, answer: Any) -> Tokens | None:
        return responses_tokens(answer.get("usage")) if isinstance(answer, dict) else None

    def answer_text(self, answer: Any) -> str:
        output = answer.get("output") if isinstance(answer, dict) else None
        return "".join(_output_texts(output))

    def read_events(self, events: list[Event], seen: Seen, keep_usage: bool) -> list[Event]:
        out = []
        for payload in events:
            event = payload.data
            if event is None:
                seen.malformed += 1
                continue
            kind = event.get("type")
            if kind == "response.output_text.delta":
                text = event.get("delta")
                if type(text) is str and text:
                    seen.chars += len(text)
                    seen.parts.append(text)
            elif kind in _FINAL:
                response = event.get("response")
                usage = response.get("usage") if isinstance(response, dict) else None
                seen.tokens = responses_tokens(usage) or seen.tokens
            elif kind == "error" or (kind is None and type(event.get("error")) is dict):
                continue  # routing ends the stream; the edge says how it failed
            out.append(payload)
        return out

    def starts_answer(self, data: dict[str, Any]) -> bool:
        kind = data.get("type")
        if kind in _STARTS or kind in _FINAL:
            return True
        item = data.get("item") if kind == "response.output_item.added" else None
        return isinstance(item, dict) and item.get("type") == "function_call"

    def finishes(self, data: dict[str, Any]) -> bool:
        return data.get("type") in _FINAL

    def map_prompt_text(self, body: dict[str, Any], fn: TextFn) -> dict[str, Any]:
        out = body
        instructions = body.get("instructions")
        if isinstance(instructions, str) and (new := fn(instructions)) != instructions:
            out = {**out, "instructions": new}
        given = body.get("input")
        if isinstance(given, str):
            new_input = fn(given)
            return out if new_input == given else {**out, "input": new_input}
        if isinstance(given, list):
            items = [_map_item(item, fn) for item in given]
            if any(a is not b for a, b in zip(items, given, strict=True)):
                out = {**out, "input": items}
        return out

    def map_answer_text(self, answer: dict[str, Any], fn: TextFn) -> dict[str, Any]:
        output = answer.get("output")
        if not isinstance(output, list):
            return answer
        items = [_map_item(item, fn) for item in output]
        if all(a is b for a, b in zip(items, output, strict=True)):
            return answer
        return {**answer, "output": items}

    def event_guard(self, new_guard: Callable[[], TextGuard]) -> EventGuard:
        return _ItemGuard(new_guard)

    def screened_messages(self, body: dict[str, Any]) -> list[Any]:
        given = body.get("input")
        if isinstance(given, str):
            return [{"role": "user", "content": given}]
        return list(_chat_view(given)) if isinstance(given, list) else []


def _output_texts(output: Any) -> Iterator[str]:
    for item in output if isinstance(output, list) else ():
        content = item.get("content") if isinstance(item, dict) else None
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]


def _map_item(item: Any, fn: TextFn) -> Any:
    """A message item's text parts (or string content), a function call's arguments, a
    function output's text, mapped."""
    if not isinstance(item, dict):
        return item
    field = _ITEM_TEXT.get(str(item.get("type")))
    if field is not None and isinstance(item.get(field), str):
        new = fn(item[field])
        return item if new == item[field] else {**item, field: new}
    content = item.get("content")
    if isinstance(content, str):
        new = fn(content)
        return item if new == content else {**item, "content": new}
    if not isinstance(content, list):
        return item
    parts = [_map_part(part, fn) for part in content]
    return (
        item
        if all(a is b for a, b in zip(parts, content, strict=True))
        else {**item, "content": parts}
    )


def _map_part(part: Any, fn: TextFn) -> Any:
    if not isinstance(part, dict) or part.get("type") not in _TEXT_PARTS:
        return part
    text = part.get("text")
    if not isinstance(text, str):
        return part
    new = fn(text)
    return part if new == text else {**part, "text": new}


def _chat_view(items: list[Any]) -> Iterator[dict[str, Any]]:
    """Message texts as chat messages, function outputs as tool messages: what the screen reads."""
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call_output":
            yield {"role": "tool", "content": str(item.get("output"))}
            continue
        content = item.get("content")
        texts = [content] if isinstance(content, str) else list(_output_texts([item]))
        if texts and item.get("role") is not None:
            yield {"role": item.get("role"), "content": "\n".join(texts)}


class _ItemGuard:
    """The data guards over a Responses stream: one text guard per message item and per
    function call's arguments. What a guard still holds when its text is done goes out in one
    more delta before the ``.done``; the ``.done`` events and the final response carry the
    text as it was let out."""

    __slots__ = ("guards", "last", "new_guard", "sent")

    def __init__(self, new_guard: Callable[[], TextGuard]) -> None:
        self.new_guard = new_guard
        self.guards: dict[Any, TextGuard] = {}
        self.sent: dict[Any, str] = {}  # item id: the text (or arguments) let out
        self.last: dict[Any, dict[str, Any]] = {}  # item id: its last delta event

    def feed(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            data = event.data
            kind = data.get("type") if data is not None else None
            if kind in _DELTAS:
                self._delta(event, data)
            elif kind in _DONE:
                held = self._flush(data.get("item_id") if data is not None else None)
                if held is not None:
                    out.append(held)
                self._retext(event, data)
            elif kind in _RETEXT:
                self._retext(event, data)
            out.append(event)
        return out

    def flush(self) -> list[Event]:
        held = [self._flush(item_id) for item_id in list(self.guards)]
        return [event for event in held if event is not None]

    def _delta(self, event: Event, data: Any) -> None:
        item_id, text = data.get("item_id"), data.get("delta")
        if not isinstance(text, str):
            return
        guard = self.guards.get(item_id)
        if guard is None:
            guard = self.guards[item_id] = self.new_guard()
        self.last[item_id] = data
        out = guard.feed(text)
        self.sent[item_id] = self.sent.get(item_id, "") + out
        if out != text:  # else its bytes as they came go out: no encoding again
            data["delta"] = out
            event.changed()

    def _flush(self, item_id: Any) -> Event | None:
        guard = self.guards.pop(item_id, None)
        text = guard.flush() if guard is not None else ""
        if not text:
            return None
        self.sent[item_id] = self.sent.get(item_id, "") + text
        # Numbered like the event before it: the SDK does not check the order.
        delta = {**self.last[item_id], "delta": text}
        return Event.of(delta)

    def _retext(self, event: Event, data: Any) -> None:
        """Every copy of a guarded item's text, as the deltas let it out. An event whose
        copies already say that goes out as it came (the usual case: nothing was rewritten)."""
        sent = self.sent.get(data.get("item_id"))
        changed = False
        field = _DONE.get(str(data.get("type")))
        if sent is not None and field is not None and field in data and data[field] != sent:
            data[field], changed = sent, True
        part = data.get("part")
        if sent is not None and isinstance(part, dict) and part.get("text") != sent:
            part["text"], changed = sent, True
        items = [data["item"]] if isinstance(data.get("item"), dict) else []
        response = data.get("response")
        if isinstance(response, dict) and isinstance(response.get("output"), list):
            items.extend(response["output"])
        for item in items:
            said = self.sent.get(item.get("id")) if isinstance(item, dict) else None
            if said is not None:
                changed = _said(item, said) or changed
        if changed:
            event.changed()


def _said(item: dict[str, Any], said: str) -> bool:
    """Make an item's copy of its text ``said``; was it different?"""
    if item.get("type") == "function_call":
        if item.get("arguments") == said:
            return False
        item["arguments"] = said
        return True
    changed = False
    for part in item.get("content") or ():
        if (
            isinstance(part, dict)
            and part.get("type") == "output_text"
            and part.get("text") != said
        ):
            part["text"], changed = said, True
    return changed


RESPONSES = ResponsesProtocol()

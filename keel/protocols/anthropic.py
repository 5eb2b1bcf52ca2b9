"""Anthropic's Messages bodies (``/v1/messages``): a request's ``system`` and ``messages`` of
content blocks, an answer's ``content`` blocks, and a stream of typed events (``message_start``,
``content_block_start``/``delta``/``stop``, ``message_delta``, ``message_stop``, ``ping``,
``error``).

Anthropic counts ``input_tokens`` without the tokens read from or written to its prompt cache;
keel's prompt count includes them (as OpenAI's does), so they are added back here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from keel.answer import Event
from keel.guard.pii.chat import map_content, map_json, map_message
from keel.protocols.base import ClientProtocol, EventGuard, Seen, TextFn, TextGuard, Tokens

if TYPE_CHECKING:
    from keel.call import Endpoint

__all__ = ["MESSAGES", "MessagesProtocol", "anthropic_tokens"]


def anthropic_tokens(raw: Any, before: Tokens | None = None) -> Tokens | None:
    """An Anthropic ``usage`` object's counts; a stream's ``message_delta`` carries only some
    (cumulative), so the others are kept from ``before`` (its ``message_start``)."""
    if not isinstance(raw, dict):
        return None
    output = raw.get("output_tokens")
    fresh = raw.get("input_tokens")
    read = raw.get("cache_read_input_tokens")
    written = raw.get("cache_creation_input_tokens")
    if not all(_count(v) for v in (fresh, read, written)) or not _count(output):
        return None
    if fresh is None:
        if before is None:
            return None  # no prompt count yet (the stream's start had none): estimated
        prompt, cached = before[0], before[2]
    else:
        cached = read or 0
        prompt = fresh + cached + (written or 0)
    if prompt == 0:
        return None  # a prompt is never empty: a translated answer's upstream counted nothing
    completion = output if output is not None else (before[1] if before else 0)
    return prompt, completion, cached


def _count(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


class MessagesProtocol(ClientProtocol):
    """Anthropic Messages bodies."""

    name = "anthropic"
    chat_chunks = False

    def prompt(self, endpoint: Endpoint, body: dict[str, Any]) -> Any:
        system = body.get("system")
        messages = body.get("messages")
        return messages if system is None else {"system": system, "messages": messages}

    def resumable(self, endpoint: Endpoint, body: dict[str, Any]) -> bool:
        # A splice continues chat chunks; a Messages stream that breaks ends with an error event.
        return False

    def answer_tokens(self, answer: Any) -> Tokens | None:
        return anthropic_tokens(answer.get("usage")) if isinstance(answer, dict) else None

    def answer_text(self, answer: Any) -> str:
        content = answer.get("content") if isinstance(answer, dict) else None
        return "".join(_block_texts(content))

    def read_events(self, events: list[Event], seen: Seen, keep_usage: bool) -> list[Event]:
        out = []
        for payload in events:
            event = payload.data
            if event is None:
                seen.malformed += 1
                continue
            kind = event.get("type")
            if kind == "content_block_delta":
                delta = event.get("delta")
                text = delta.get("text") if type(delta) is dict else None
                if type(text) is str and text:
                    seen.chars += len(text)
                    seen.parts.append(text)
            elif kind == "message_start":
                message = event.get("message")
                usage = message.get("usage") if isinstance(message, dict) else None
                seen.tokens = anthropic_tokens(usage) or seen.tokens
            elif kind == "message_delta":
                seen.tokens = anthropic_tokens(event.get("usage"), seen.tokens) or seen.tokens
            elif kind == "error" or type(event.get("error")) is dict:
                continue  # routing ends the stream; keel's error event follows
            out.append(payload)
        return out

    def starts_answer(self, data: dict[str, Any]) -> bool:
        kind = data.get("type")
        if kind == "content_block_delta":
            return True
        if kind == "content_block_start":
            block = data.get("content_block")
            return isinstance(block, dict) and block.get("type") not in ("text", "thinking")
        return kind == "message_stop" or self.finishes(data)

    def finishes(self, data: dict[str, Any]) -> bool:
        kind = data.get("type")
        if kind == "message_stop":
            return True
        delta = data.get("delta") if kind == "message_delta" else None
        return isinstance(delta, dict) and bool(delta.get("stop_reason"))

    def map_prompt_text(self, body: dict[str, Any], fn: TextFn) -> dict[str, Any]:
        out = body
        system = body.get("system")
        new_system = _map_content(system, fn)
        if new_system is not system:
            out = {**out, "system": new_system}
        messages = body.get("messages")
        if isinstance(messages, list):
            mapped = [_map_message(m, fn) for m in messages]
            if any(a is not b for a, b in zip(mapped, messages, strict=True)):
                out = {**out, "messages": mapped}
        return out

    def map_answer_text(self, answer: dict[str, Any], fn: TextFn) -> dict[str, Any]:
        content = answer.get("content")
        new = _map_content(content, fn)
        return answer if new is content else {**answer, "content": new}

    def event_guard(self, new_guard: Callable[[], TextGuard]) -> EventGuard:
        return _BlockGuard(new_guard)

    def screened_messages(self, body: dict[str, Any]) -> list[Any]:
        messages = body.get("messages")
        return list(_chat_view(messages)) if isinstance(messages, list) else []


def _block_texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                text = block.get("text")
                if isinstance(text, str):
                    yield text


def _map_message(message: Any, fn: TextFn) -> Any:
    return map_message(message, fn, _map_block)


def _map_content(content: Any, fn: TextFn) -> Any:
    """A string, or a list of blocks: text blocks and tool results' texts mapped."""
    return map_content(content, fn, _map_block)


def _map_block(block: Any, fn: TextFn) -> Any:
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        out = fn(block["text"])
        return block if out == block["text"] else {**block, "text": out}
    if kind == "tool_result":
        inner = block.get("content")
        new = _map_content(inner, fn)
        return block if new is inner else {**block, "content": new}
    if kind == "tool_use":  # the input the model gave a tool: in history, and in answers
        given = block.get("input")
        new = map_json(given, fn)
        return block if new is given else {**block, "input": new}
    return block


def _chat_view(messages: list[Any]) -> Iterator[dict[str, Any]]:
    """User texts as user messages, tool results as tool messages: what the screen reads."""
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        role = message.get("role")
        texts = list(_block_texts(content))
        if texts:
            yield {"role": role, "content": "\n".join(texts)}
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    yield {"role": "tool", "content": "\n".join(_block_texts(block.get("content")))}


# The delta field that carries each streamed block's text.
_DELTA_TEXT = {"text_delta": "text", "input_json_delta": "partial_json"}


class _BlockGuard:
    """The data guards over a Messages stream: one text guard per content block (a text, or
    a tool_use's input JSON). What a guard still holds when its block stops is sent in one
    more delta before the stop."""

    __slots__ = ("guards", "kinds", "new_guard")

    def __init__(self, new_guard: Callable[[], TextGuard]) -> None:
        self.new_guard = new_guard
        self.guards: dict[Any, TextGuard] = {}
        self.kinds: dict[Any, str] = {}  # block index: its delta's type

    def feed(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            data = event.data
            kind = data.get("type") if data is not None else None
            if kind == "content_block_delta":
                self._delta(event, data)
            elif kind == "content_block_stop":
                held = self._flush(data.get("index") if data is not None else None)
                if held is not None:
                    out.append(held)
            out.append(event)
        return out

    def flush(self) -> list[Event]:
        held = [self._flush(index) for index in list(self.guards)]
        return [event for event in held if event is not None]

    def _delta(self, event: Event, data: Any) -> None:
        delta = data.get("delta")
        field = _DELTA_TEXT.get(str(delta.get("type"))) if isinstance(delta, dict) else None
        if field is None or not isinstance(delta.get(field), str):
            return
        index = data.get("index")
        guard = self.guards.get(index)
        if guard is None:
            guard = self.guards[index] = self.new_guard()
            self.kinds[index] = delta["type"]
        out = guard.feed(delta[field])
        if out != delta[field]:
            delta[field] = out
            event.changed()

    def _flush(self, index: Any) -> Event | None:
        guard = self.guards.pop(index, None)
        text = guard.flush() if guard is not None else ""
        kind = self.kinds.pop(index, "text_delta")
        if not text:
            return None
        delta = {"type": kind, _DELTA_TEXT[kind]: text}
        return Event.of({"type": "content_block_delta", "index": index, "delta": delta})


MESSAGES = MessagesProtocol()

"""OpenAI's bodies (chat completions, completions, embeddings): the protocol keel has always
read, and the default of every call. Stream events are chat (or text) completion chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from keel.answer import Event, choice_text, starts_answer
from keel.guard.pii.chat import map_answer_text, map_chat_text
from keel.protocols.base import ClientProtocol, EventGuard, Seen, TextFn, TextGuard, Tokens

if TYPE_CHECKING:
    from keel.call import Endpoint

__all__ = ["OPENAI", "PROMPT_FIELD", "OpenAIProtocol", "openai_tokens"]

# The body field that holds each endpoint's prompt.
PROMPT_FIELD: dict[Endpoint, str] = {
    "chat": "messages",
    "completions": "prompt",
    "embeddings": "input",
    "infer": "inputs",  # a prediction: the tensors' names, types, shapes and data hashes
    "messages": "messages",  # Anthropic's (its system prompt is beside it: see anthropic.py)
    "responses": "input",  # OpenAI Responses' (its instructions are beside it: responses.py)
}


def openai_tokens(raw: Any) -> Tokens | None:
    """An OpenAI ``usage`` object's counts, or None if it is not one."""
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens", 0)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return prompt, completion, _cached_tokens(raw, prompt)


def _cached_tokens(raw: dict[str, Any], prompt: int) -> int:
    """OpenAI's ``prompt_tokens_details.cached_tokens``: the prompt tokens read from the
    upstream's cache, billed cheaper. A value that cannot be right (not a count, or more than
    the prompt) is ignored: an odd upstream must not make a call look cheaper than it was."""
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if isinstance(cached, bool) or not isinstance(cached, int) or not 0 <= cached <= prompt:
        return 0
    return cached


class OpenAIProtocol(ClientProtocol):
    """Chat completions, completions and embeddings bodies."""

    name = "openai"
    chat_chunks = True

    def prompt(self, endpoint: Endpoint, body: dict[str, Any]) -> Any:
        return body.get(PROMPT_FIELD[endpoint])

    def resumable(self, endpoint: Endpoint, body: dict[str, Any]) -> bool:
        """One text answer (not several choices) is what a splice can continue."""
        return endpoint in ("chat", "completions") and body.get("n") in (None, 1)

    def answer_tokens(self, answer: Any) -> Tokens | None:
        return openai_tokens(answer.get("usage")) if isinstance(answer, dict) else None

    def answer_text(self, answer: Any) -> str:
        choices = answer.get("choices") if isinstance(answer, dict) else None
        return "".join(choice_text(c) for c in choices) if isinstance(choices, list) else ""

    def read_events(self, events: list[Event], seen: Seen, keep_usage: bool) -> list[Event]:
        # On every chunk of every stream: the loop is written out, with no call per event.
        out = []
        parts = seen.parts
        for payload in events:
            event = payload.data
            if event is None:
                seen.malformed += 1
                continue
            if type(event.get("error")) is dict:
                # Not forwarded: routing ends or resumes the stream; keel's error event follows.
                continue
            raw = event.get("usage")
            tokens = openai_tokens(raw) if raw is not None else None
            if tokens is not None:
                seen.tokens = tokens
            choices = event.get("choices")
            if not choices:
                if tokens is None or keep_usage:
                    out.append(payload)
                continue
            for choice in choices:
                delta = choice.get("delta") if type(choice) is dict else None
                text = delta.get("content") if type(delta) is dict else None
                if type(text) is not str:  # not a chat chunk's text: the general reader
                    text = choice_text(choice)
                if text:
                    seen.chars += len(text)
                    parts.append(text)
            out.append(payload)
        return out

    def starts_answer(self, data: dict[str, Any]) -> bool:
        return starts_answer(data)

    def finishes(self, data: dict[str, Any]) -> bool:
        choices = data.get("choices")
        return isinstance(choices, list) and any(
            isinstance(c, dict) and c.get("finish_reason") for c in choices
        )

    def map_prompt_text(self, body: dict[str, Any], fn: TextFn) -> dict[str, Any]:
        """A chat body's messages (tool calls' arguments and tool results too), a completions
        body's ``prompt``, an embeddings body's ``input``: strings or lists of them (token
        ids pass as they are)."""
        out = map_chat_text(body, fn)
        for key in ("prompt", "input"):
            given = body.get(key)
            if given is None:  # a chat body
                continue
            new = _map_texts(given, fn)
            if new is not given:
                out = {**out, key: new}
        return out

    def map_answer_text(self, answer: dict[str, Any], fn: TextFn) -> dict[str, Any]:
        return map_answer_text(answer, fn)

    def event_guard(self, new_guard: Callable[[], TextGuard]) -> EventGuard:
        return _Chunks(new_guard)

    def screened_messages(self, body: dict[str, Any]) -> list[Any]:
        messages = body.get("messages")
        return messages if isinstance(messages, list) else []


def _map_texts(given: Any, fn: TextFn) -> Any:
    if isinstance(given, str):
        out = fn(given)
        return given if out == given else out
    if isinstance(given, list) and any(isinstance(g, str) for g in given):
        mapped = [fn(g) if isinstance(g, str) else g for g in given]
        return given if mapped == given else mapped
    return given


# One text of a stream: a choice's content (None) or one of its tool calls' arguments.
_Key = tuple[Any, Any]


class _Chunks:
    """The data guards over chat chunks: each choice's content and each of its tool calls'
    arguments, a text guard each, rewritten in place. The chunk with a choice's
    ``finish_reason`` carries whatever that choice's guards still held."""

    __slots__ = ("guards", "last", "new_guard")

    def __init__(self, new_guard: Callable[[], TextGuard]) -> None:
        self.new_guard = new_guard
        self.guards: dict[_Key, TextGuard] = {}
        self.last: dict[str, Any] = {}  # the last chunk: what a chunk keel adds looks like

    def feed(self, events: list[Event]) -> list[Event]:
        # On every chunk of a guarded stream: the loop is written out.
        for event in events:
            chunk = event.data
            if chunk is None or not (choices := chunk.get("choices")):
                continue
            self.last = chunk
            changed = False
            for choice in choices:
                if type(choice) is dict and self._see(choice):
                    changed = True
            if changed:
                event.changed()
        return events

    def flush(self) -> list[Event]:
        choices = []
        for index in sorted({i for i, _ in self.guards}, key=str):
            delta: dict[str, Any] = {}
            self._finish(index, delta)
            if delta:
                choices.append({"index": index, "delta": delta, "finish_reason": None})
        if not choices:
            return []
        head: dict[str, Any] = {
            k: self.last[k] for k in ("id", "object", "created", "model") if k in self.last
        }
        return [Event.of({**head, "choices": choices})]

    def _see(self, choice: dict[str, Any]) -> bool:
        delta = choice.get("delta")
        if type(delta) is not dict:
            return False
        index = choice.get("index", 0)
        changed = False
        text = delta.get("content")
        if type(text) is str:
            guard = self.guards.get((index, None))
            if guard is None:
                guard = self._guard((index, None))
            out = guard.feed(text)
            if out != text:
                delta["content"], changed = out, True
        calls = delta.get("tool_calls")
        if calls:
            changed = self._calls(index, calls) or changed
        if choice.get("finish_reason"):
            changed = self._finish(index, delta) or changed
        return changed

    def _calls(self, index: Any, calls: Any) -> bool:
        """Each tool call's arguments in a delta, through its own guard."""
        changed = False
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, dict) else None
            args = function.get("arguments") if isinstance(function, dict) else None
            if isinstance(args, str):
                assert function is not None
                out = self._guard((index, call.get("index", 0))).feed(args)
                if out != args:
                    function["arguments"], changed = out, True
        return changed

    def _guard(self, key: _Key) -> TextGuard:
        guard = self.guards.get(key)
        if guard is None:
            guard = self.guards[key] = self.new_guard()
        return guard

    def _finish(self, index: Any, delta: dict[str, Any]) -> bool:
        """Add to ``delta`` what the choice's guards still hold; were there any?"""
        added = False
        for key in [k for k in self.guards if k[0] == index]:
            held = self.guards.pop(key).flush()
            if not held:
                continue
            added = True
            if key[1] is None:
                delta["content"] = (delta.get("content") or "") + held
                continue
            calls = delta.setdefault("tool_calls", [])
            call = next((c for c in calls if c.get("index", 0) == key[1]), None)
            if call is None:
                calls.append({"index": key[1], "function": {"arguments": held}})
            else:
                function = call.setdefault("function", {})
                function["arguments"] = (function.get("arguments") or "") + held
        return added


OPENAI = OpenAIProtocol()

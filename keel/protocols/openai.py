"""OpenAI's bodies (chat completions, completions, embeddings): the protocol keel has always
read, and the default of every call. Stream events are chat (or text) completion chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from keel.answer import Event, choice_text, starts_answer
from keel.guard.pii.chat import map_answer_text, map_chat_text
from keel.guard.pii.stream import ChunkGuard
from keel.protocols.base import ClientProtocol, EventGuard, Seen, TextFn, Tokens

if TYPE_CHECKING:
    from keel.call import Endpoint
    from keel.guard.pii.stream import StreamGuard

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
        return map_chat_text(body, fn)

    def map_answer_text(self, answer: dict[str, Any], fn: TextFn) -> dict[str, Any]:
        return map_answer_text(answer, fn)

    def event_guard(self, new_guard: Callable[[], StreamGuard]) -> EventGuard:
        return _Chunks(ChunkGuard(guard_factory=new_guard))

    def screened_messages(self, body: dict[str, Any]) -> list[Any]:
        messages = body.get("messages")
        return messages if isinstance(messages, list) else []


class _Chunks:
    """The PII guard over chat chunks: each choice's text, rewritten in place."""

    __slots__ = ("chunks",)

    def __init__(self, chunks: ChunkGuard) -> None:
        self.chunks = chunks

    def feed(self, events: list[Event]) -> list[Event]:
        for event in events:
            chunk = event.data
            if chunk is not None and chunk.get("choices"):
                self.chunks.feed(chunk)  # in place
                event.changed()
        return events


OPENAI = OpenAIProtocol()

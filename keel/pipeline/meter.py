"""Reading token usage off answers: the upstream's own numbers, or an estimate marked as one."""

from __future__ import annotations

import time
from typing import Any

import orjson

from keel.call import PROMPT_FIELD, Call, Usage

__all__ = ["StreamMeter", "estimate_tokens", "usage_from_answer"]


def usage_from_answer(call: Call, answer: Any) -> Usage:
    """The upstream's usage if it gave one, else an estimate from the texts."""
    usage = _usage(answer.get("usage")) if isinstance(answer, dict) else None
    if usage is not None:
        return usage
    completion = 0
    if isinstance(answer, dict) and isinstance(answer.get("choices"), list):
        completion = sum(estimate_tokens(_choice_text(c)) for c in answer["choices"])
    return Usage(_estimate_prompt(call), completion, estimated=True)


def estimate_tokens(text: str) -> int:
    """About four characters a token for English text; good enough to price, never exact."""
    return (len(text) + 3) // 4


def _estimate_prompt(call: Call) -> int:
    key = PROMPT_FIELD[call.endpoint]
    return estimate_tokens(orjson.dumps(call.body.get(key)).decode())


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens", 0)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt, completion, cached_tokens=_cached_tokens(raw, prompt))


def _cached_tokens(raw: dict[str, Any], prompt: int) -> int:
    """OpenAI's ``prompt_tokens_details.cached_tokens``: the prompt tokens read from the
    upstream's cache, billed cheaper. A value that cannot be right (not a count, or more than
    the prompt) is ignored: an odd upstream must not make a call look cheaper than it was."""
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if isinstance(cached, bool) or not isinstance(cached, int) or not 0 <= cached <= prompt:
        return 0
    return cached


def _calls_a_tool(choice: Any) -> bool:
    delta = choice.get("delta") if isinstance(choice, dict) else None
    return isinstance(delta, dict) and bool(delta.get("tool_calls") or delta.get("function_call"))


def _choice_text(choice: Any) -> str:
    if not isinstance(choice, dict):
        return ""
    message = choice.get("message") or choice.get("delta") or {}
    text = choice.get("text")
    if isinstance(text, str):
        return text
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


class StreamMeter:
    """Watches a stream's events: usage, first token, finish, malformed events.

    ``feed`` says whether to forward an event: the usage-only chunk keel asked for on the
    client's behalf is kept back when the client did not ask for it, and so is a malformed
    event (counted; a client SDK would choke on it).
    """

    def __init__(self, call: Call) -> None:
        self.call = call
        self.usage: Usage | None = None
        self.chars = 0
        self.parts: list[str] = []  # the text the client got, so a broken stream can resume
        self.tool_calls = False
        self.finished = False
        self.malformed = 0
        self.error: dict[str, Any] | None = None

    def feed(self, payload: bytes) -> bool:
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.malformed += 1
            return False
        if not isinstance(event, dict):
            self.malformed += 1
            return False
        if isinstance(event.get("error"), dict):
            self.error = event["error"]  # reported by keel's own closing error event
            return False
        usage = _usage(event.get("usage"))
        if usage is not None:
            self.usage = usage
        choices = event.get("choices")
        if not choices:
            return usage is None or self.call.client_wants_usage
        for choice in choices:
            self._see(choice)
        return True

    def _see(self, choice: Any) -> None:
        text = _choice_text(choice)
        if text:
            if self.call.ttft_s is None:
                self.call.ttft_s = time.perf_counter() - self.call.started
            self.chars += len(text)
            self.parts.append(text)
        elif _calls_a_tool(choice):  # only a chunk without text can carry a tool call
            self.tool_calls = True
        if isinstance(choice, dict) and choice.get("finish_reason"):
            self.finished = True

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def resumable(self) -> bool:
        """Only text can be continued from where it broke; a half-sent tool call cannot."""
        return bool(self.parts) and not self.tool_calls and not self.finished

    def final_usage(self) -> Usage:
        if self.usage is not None:
            return self.usage
        return Usage(_estimate_prompt(self.call), (self.chars + 3) // 4, estimated=True)

"""Stage 8b, meter: token usage off the answer as the client gets it, the upstream's own numbers
or an estimate marked as one; the answer kept for the audit record; a stream's first token.

A whole answer that is not JSON is refused here (502). Of a stream, the malformed events and
the usage chunk keel asked for on the client's behalf are kept back.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from keel.answer import Event, choice_text
from keel.call import PROMPT_FIELD, Call, Usage
from keel.errors import UpstreamError
from keel.monitor.metrics import Metrics

__all__ = ["Meter", "StreamMeter", "estimate_tokens", "usage_from_answer"]


class Meter:
    """The stage: its work is on the answer only."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics

    def outbound(self, call: Call) -> StreamMeter:
        return StreamMeter(call, self.metrics)


def usage_from_answer(call: Call, answer: Any) -> Usage:
    """The upstream's usage if it gave one, else an estimate from the texts."""
    usage = _usage(answer.get("usage")) if isinstance(answer, dict) else None
    if usage is not None:
        return usage
    completion = 0
    if isinstance(answer, dict) and isinstance(answer.get("choices"), list):
        completion = sum(estimate_tokens(choice_text(c)) for c in answer["choices"])
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


class StreamMeter:
    """One call's meter. Of a whole answer, ``body`` reads the usage. Of a stream, it watches
    the events: usage, first token, finish, malformed events.

    ``feed`` says whether to forward an event: the usage-only chunk keel asked for on the
    client's behalf is kept back when the client did not ask for it, and so is a malformed
    event (counted; a client SDK would choke on it).
    """

    def __init__(self, call: Call, metrics: Metrics | None = None) -> None:
        self.call = call
        self.metrics = metrics
        self.usage: Usage | None = None
        self.chars = 0
        self.parts: list[str] = []  # the text the client got, for the audit record
        self.malformed = 0

    def body(self, body: Event) -> None:
        call = self.call
        if not body.json:
            raise UpstreamError(
                f"Deployment {call.deployment} answered with something that is not JSON."
            )
        call.usage = usage_from_answer(call, body.value)
        call.answer = body.raw

    def events(self, events: list[Event]) -> list[Event]:
        # On every chunk of every stream: the loop is written out, with no call per event.
        out = []
        parts = self.parts
        for payload in events:
            event = payload.data
            if event is None:
                self.malformed += 1
                continue
            if type(event.get("error")) is dict:
                # Not forwarded: routing ends or resumes the stream; keel's error event follows.
                continue
            raw = event.get("usage")
            usage = _usage(raw) if raw is not None else None
            if usage is not None:
                self.usage = usage
            choices = event.get("choices")
            if not choices:
                if usage is None or self.call.client_wants_usage:
                    out.append(payload)
                continue
            for choice in choices:
                delta = choice.get("delta") if type(choice) is dict else None
                text = delta.get("content") if type(delta) is dict else None
                if type(text) is not str:  # not a chat chunk's text: the general reader
                    text = choice_text(choice)
                if text:
                    if not parts:
                        self.call.ttft_s = time.perf_counter() - self.call.started
                    self.chars += len(text)
                    parts.append(text)
            out.append(payload)
        return out

    def end(self) -> None:
        call = self.call
        call.usage = self.final_usage()
        call.answer = self.text
        if self.malformed and self.metrics is not None:
            self.metrics.malformed.labels(call.deployment or "").inc(self.malformed)

    def feed(self, event: Event) -> bool:
        """Whether one event is to be forwarded (and it is metered)."""
        return bool(self.events([event]))

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def final_usage(self) -> Usage:
        if self.usage is not None:
            return self.usage
        return Usage(_estimate_prompt(self.call), (self.chars + 3) // 4, estimated=True)

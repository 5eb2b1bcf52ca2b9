"""Stage 8b, meter: token usage off the answer as the client gets it, the upstream's own numbers
or an estimate marked as one; the answer kept for the audit record; a stream's first token.

A whole answer that is not JSON is refused here (502). Of a stream, the malformed events and
the usage chunk keel asked for on the client's behalf are kept back.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from keel.answer import Event
from keel.call import Call, Usage
from keel.errors import UpstreamError
from keel.monitor.metrics import Metrics
from keel.protocols import Seen

__all__ = ["Meter", "StreamMeter", "estimate_tokens", "usage_from_answer"]


class Meter:
    """The stage: its work is on the answer only."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics

    def outbound(self, call: Call) -> StreamMeter:
        return StreamMeter(call, self.metrics)


def usage_from_answer(call: Call, answer: Any) -> Usage:
    """The upstream's usage if it gave one, else an estimate from the texts."""
    protocol = call.protocol
    tokens = protocol.answer_tokens(answer)
    if tokens is not None:
        return Usage(tokens[0], tokens[1], cached_tokens=tokens[2])
    completion = estimate_tokens(protocol.answer_text(answer))
    return Usage(_estimate_prompt(call), completion, estimated=True)


def estimate_tokens(text: str) -> int:
    """About four characters a token for English text; good enough to price, never exact."""
    return (len(text) + 3) // 4


def _estimate_prompt(call: Call) -> int:
    prompt = call.protocol.prompt(call.endpoint, call.body)
    return estimate_tokens(orjson.dumps(prompt).decode())


class StreamMeter:
    """One call's meter. Of a whole answer, ``body`` reads the usage. Of a stream, it watches
    the events: usage, first token, finish, malformed events, as the call's protocol reads them.

    ``feed`` says whether to forward an event: the usage-only chunk keel asked for on the
    client's behalf is kept back when the client did not ask for it, and so is a malformed
    event (counted; a client SDK would choke on it).
    """

    def __init__(self, call: Call, metrics: Metrics | None = None) -> None:
        self.call = call
        self.metrics = metrics
        self.seen = Seen()  # usage, the text the client got (for the audit record), malformed

    def body(self, body: Event) -> None:
        call = self.call
        if not body.json:
            raise UpstreamError(
                f"Deployment {call.deployment} answered with something that is not JSON."
            )
        call.usage = usage_from_answer(call, body.value)
        call.answer = body.raw

    def events(self, events: list[Event]) -> list[Event]:
        call, seen = self.call, self.seen
        had_text = bool(seen.parts)
        out = call.protocol.read_events(events, seen, call.client_wants_usage)
        if not had_text and seen.parts:
            call.ttft_s = time.perf_counter() - call.started
        return out

    def end(self) -> None:
        call = self.call
        call.usage = self.final_usage()
        call.answer = self.text
        if self.seen.malformed and self.metrics is not None:
            self.metrics.malformed.labels(call.deployment or "").inc(self.seen.malformed)

    def feed(self, event: Event) -> bool:
        """Whether one event is to be forwarded (and it is metered)."""
        return bool(self.events([event]))

    @property
    def text(self) -> str:
        return "".join(self.seen.parts)

    @property
    def malformed(self) -> int:
        return self.seen.malformed

    def final_usage(self) -> Usage:
        tokens = self.seen.tokens
        if tokens is not None:
            return Usage(tokens[0], tokens[1], cached_tokens=tokens[2])
        return Usage(_estimate_prompt(self.call), (self.seen.chars + 3) // 4, estimated=True)

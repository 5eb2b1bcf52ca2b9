"""A data class's PII rules applied to one call: the prompt on the way in, the answer (whole or
streamed, across chunk boundaries) on the way out.

``prompts`` acts on every entity kind the class names (all, by default): ``redact`` puts typed
placeholders in, ``pseudonymise`` puts numbered ones in and restores the values in the answer,
``block`` refuses the request (a 400 naming the kinds, never the values). ``answers`` redacts
personal data in what the model says (``block`` too: half of a stream cannot be taken back).
"""

from __future__ import annotations

import orjson

from keel.call import Call
from keel.config.security import PIIPolicy
from keel.errors import BadRequest
from keel.guard.pii.chat import map_answer_text
from keel.guard.pii.entities import Kind
from keel.guard.pii.policy import PiiActions, RequestGuard, blocked_message
from keel.guard.pii.stream import ChunkGuard, StreamGuard

__all__ = ["PIIRules", "StreamFilter"]


class PIIRules:
    def __init__(self, policy: PIIPolicy) -> None:
        unknown = [k for k in policy.entities if k not in Kind.__members__]
        if unknown:  # the config schema does not know the guard's kinds; say so at start
            raise ValueError(f"unknown PII kinds {unknown}; use {', '.join(Kind)}")
        kinds = [Kind(k) for k in policy.entities] or [k for k in Kind if k is not Kind.PERSON]
        self.action = policy.prompts
        self.inbound_policy = PiiActions.parse({k.value: policy.prompts for k in kinds})
        self.out_kinds = frozenset(kinds) if policy.answers != "allow" else frozenset()

    def inbound(self, call: Call) -> None:
        guard = RequestGuard(self.inbound_policy)
        call.pii = guard
        if self.action == "allow" or call.endpoint != "chat":
            return
        body, blocked = guard.inbound(call.body)
        if blocked:
            call.guards.append("pii:block:" + ",".join(blocked))
            raise BadRequest(blocked_message(blocked), code="pii_blocked")
        if guard.found:
            call.guards.append(f"pii:{self.action}:" + ",".join(sorted(guard.found)))
            call.body = body

    def outbound(self, call: Call, body: bytes) -> bytes:
        guard = call.pii
        if not isinstance(guard, RequestGuard) or not self._acts(guard):
            return body
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body
        text_guard = StreamGuard(self.out_kinds, guard.pseudonymiser, labels=guard.labels)
        guarded = map_answer_text(answer, text_guard.apply)
        return orjson.dumps(guarded)

    def stream(self, call: Call) -> StreamFilter | None:
        guard = call.pii
        if not isinstance(guard, RequestGuard) or not self._acts(guard):
            return None
        return StreamFilter(ChunkGuard(self.out_kinds, guard.pseudonymiser, labels=guard.labels))

    def _acts(self, guard: RequestGuard) -> bool:
        return bool(self.out_kinds) or guard.pseudonymiser is not None


class StreamFilter:
    """Rewrites each streamed chunk's text through the chunk guard; ``tail`` gives what a
    broken stream still held back, to be sent before its error event."""

    def __init__(self, guard: ChunkGuard) -> None:
        self.guard = guard

    def __call__(self, payloads: list[bytes]) -> list[bytes]:
        out = []
        for payload in payloads:
            try:
                chunk = orjson.loads(payload)
            except orjson.JSONDecodeError:
                out.append(payload)  # the meter skips and counts it
                continue
            if isinstance(chunk, dict) and chunk.get("choices"):
                payload = orjson.dumps(self.guard.feed(chunk))
            out.append(payload)
        return out

"""A data class's PII rules applied to one call: the prompt on the way in, the answer (whole or
streamed, across chunk boundaries) on the way out.

``prompts`` acts on every entity kind the class names (all, by default): ``redact`` puts typed
placeholders in, ``pseudonymise`` puts numbered ones in and restores the values in the answer,
``block`` refuses the request (a 400 naming the kinds, never the values). ``answers`` redacts
personal data in what the model says (``block`` too: half of a stream cannot be taken back).
"""

from __future__ import annotations

from keel.answer import Event
from keel.call import Call
from keel.config.security import PIIPolicy
from keel.errors import BadRequest
from keel.guard.pii.custom import custom_kind
from keel.guard.pii.entities import AnyKind, CustomKind, Kind
from keel.guard.pii.policy import Action, PiiActions, RequestGuard, blocked_message
from keel.guard.pii.stream import StreamGuard
from keel.protocols import ClientProtocol, EventGuard

__all__ = ["AnswerRules", "PIIRules", "custom_kinds"]

# The endpoints whose prompts are conversations the rules walk (text, text blocks).
_CONVERSATIONS = frozenset({"chat", "messages", "responses"})


class PIIRules:
    def __init__(self, policy: PIIPolicy) -> None:
        custom = custom_kinds(policy)
        unknown = [k for k in policy.entities if k not in Kind.__members__ and k not in custom]
        if unknown:  # the config schema does not know the guard's kinds; say so at start
            raise ValueError(f"unknown PII kinds {unknown}; use {', '.join(Kind)}")
        builtin = [Kind(k) for k in policy.entities if k in Kind.__members__]
        if not policy.entities:
            builtin = [k for k in Kind if k is not Kind.PERSON]
        kinds: list[AnyKind] = [*builtin, *custom.values()]
        self.action = policy.prompts
        self.inbound_policy = PiiActions(dict.fromkeys(kinds, Action(policy.prompts)))
        self.out_kinds = frozenset(kinds) if policy.answers != "allow" else frozenset()

    def inbound(self, call: Call) -> None:
        guard = RequestGuard(self.inbound_policy)
        call.pii = guard
        if self.action == "allow" or call.endpoint not in _CONVERSATIONS:
            return
        body, blocked = guard.inbound(call.body, call.protocol.map_prompt_text)
        if blocked:
            call.guards.append("pii:block:" + ",".join(blocked))
            raise BadRequest(blocked_message(blocked), code="pii_blocked")
        if guard.found:
            call.guards.append(f"pii:{self.action}:" + ",".join(sorted(guard.found)))
            call.body = body
            call.raw = None  # the client's bytes hold what the rules took out

    def outbound(self, call: Call) -> AnswerRules | None:
        guard = call.pii
        if guard is None or not self._acts(guard):
            return None
        return AnswerRules(self.out_kinds, guard, call.protocol)

    def _acts(self, guard: RequestGuard) -> bool:
        return bool(self.out_kinds) or guard.pseudonymiser is not None


def custom_kinds(policy: PIIPolicy) -> dict[str, CustomKind]:
    """The class's own recognisers as kinds; a name a built-in kind has is refused."""
    taken = [name for name in policy.recognisers if name in Kind.__members__]
    if taken:
        raise ValueError(f"PII recogniser {taken[0]!r} has the name of a built-in kind")
    return {
        name: custom_kind(
            name, spec.pattern, spec.checksum, spec.context, spec.window, spec.ignore_case
        )
        for name, spec in policy.recognisers.items()
    }


class AnswerRules:
    """One call's answer as its data class lets it leave: personal data redacted, its own
    pseudonyms restored; a whole body, or each streamed chunk across chunk boundaries."""

    def __init__(
        self, kinds: frozenset[AnyKind], guard: RequestGuard, protocol: ClientProtocol
    ) -> None:
        self.kinds = kinds
        self.request = guard
        self.protocol = protocol
        self.chunks: EventGuard | None = None

    def body(self, body: Event) -> None:
        answer = body.data
        if answer is None:
            return  # not an answer the meter will take either
        guard = self.request
        text_guard = StreamGuard(self.kinds, guard.pseudonymiser, labels=guard.labels)
        guarded = self.protocol.map_answer_text(answer, text_guard.apply)
        if guarded is not answer:  # an answer with nothing to change leaves byte for byte
            body.replace(guarded)

    def events(self, events: list[Event]) -> list[Event]:
        if self.chunks is None:
            self.chunks = self.protocol.event_guard(self._text_guard)
        return self.chunks.feed(events)

    def _text_guard(self) -> StreamGuard:
        guard = self.request
        return StreamGuard(self.kinds, guard.pseudonymiser, labels=guard.labels)

    def end(self) -> None:
        return None

"""A data class's PII rules applied to one call: the prompt on the way in, the answer (whole or
streamed, across chunk boundaries) on the way out.

``prompts`` acts on every entity kind the class names (all, by default): ``redact`` puts typed
placeholders in, ``pseudonymise`` puts numbered ones in and restores the values in the answer,
``block`` refuses the request (a 400 naming the kinds, never the values). ``answers`` redacts
personal data in what the model says, or (``block``) withholds the answer
(``keel.pipeline.answer_rules``). Every channel of a prompt is walked: messages, tool calls'
arguments and tool results, completions prompts and embeddings inputs, in each protocol.
``ner`` adds keel's NER tagger for names, addresses and company names (prompts only: the
answer's pseudonyms are restored, but names the model writes itself are not looked for).
"""

from __future__ import annotations

from keel.call import Call
from keel.config.security import PIIPolicy
from keel.errors import BadRequest
from keel.guard import ner
from keel.guard.pii.custom import custom_kind
from keel.guard.pii.entities import NER_KINDS, AnyKind, CustomKind, Kind
from keel.guard.pii.policy import Action, PiiActions, RequestGuard, blocked_message
from keel.guard.pii.stream import StreamGuard
from keel.pipeline.answer_rules import Found, Part
from keel.protocols.base import TextGuard

__all__ = ["PIIRules", "custom_kinds"]


class PIIRules:
    def __init__(self, policy: PIIPolicy) -> None:
        custom = custom_kinds(policy)
        unknown = [k for k in policy.entities if k not in Kind.__members__ and k not in custom]
        if unknown:  # the config schema does not know the guard's kinds; say so at start
            raise ValueError(f"unknown PII kinds {unknown}; use {', '.join(Kind)}")
        builtin = [Kind(k) for k in policy.entities if k in Kind.__members__]
        if not policy.entities:
            builtin = [k for k in Kind if policy.ner or k not in NER_KINDS]
        kinds: list[AnyKind] = [*builtin, *custom.values()]
        self.action = policy.prompts
        recogniser = ner.load() if policy.ner else None
        actions = dict.fromkeys(kinds, Action(policy.prompts))
        self.inbound_policy = PiiActions(actions, ner=recogniser)
        self.out_kinds = frozenset(kinds) if policy.answers != "allow" else frozenset()
        self.blocks_answers = policy.answers == "block"

    def inbound(self, call: Call) -> None:
        guard = RequestGuard(self.inbound_policy)
        call.pii = guard
        if self.action == "allow":
            return
        body, blocked = guard.inbound(call.body, call.protocol.map_prompt_text)
        if blocked:
            call.guards.append("pii:block:" + ",".join(blocked))
            raise BadRequest(blocked_message(blocked), code="pii_blocked")
        if guard.found:
            call.guards.append(f"pii:{self.action}:" + ",".join(sorted(guard.found)))
            call.body = body
            call.raw = None  # the client's bytes hold what the rules took out

    def outbound(self, call: Call) -> Part | None:
        """The rules' share of the answer rules, or None when the answer leaves as it is."""
        guard = call.pii
        if guard is None or not (self.out_kinds or guard.pseudonymiser is not None):
            return None
        request = guard

        def new() -> tuple[TextGuard, set[str] | None]:
            if self.blocks_answers:
                found = Found()
                return StreamGuard(self.out_kinds, request.pseudonymiser, labels=found), found.kinds
            return StreamGuard(self.out_kinds, request.pseudonymiser, labels=request.labels), None

        return Part("pii", new, blocks=self.blocks_answers)


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

"""What to do with each PII kind (``PiiActions``), and the guard that applies it to one request
and its answer.

    policy = PiiActions.parse({"EMAIL": "pseudonymise", "CARD": "block", "PHONE": "redact"})
    guard = RequestGuard(policy)                  # one per request
    body, blocked = guard.inbound(call.body)      # blocked: a 400 naming the kinds
    answer = guard.outbound(answer)               # or guard.stream_guard() per streamed text

On the way in, each kind gets its action. On the way out (data-loss prevention) the kinds
to redact or block are redacted, since half a streamed answer cannot be taken back into a
400, and placeholders of pseudonymised values are replaced by the values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from keel.guard.pii.chat import map_answer_text, map_chat_text
from keel.guard.pii.detectors import detect
from keel.guard.pii.entities import NER_KINDS, AnyKind, Entity, Kind, Recogniser
from keel.guard.pii.rewrite import Labels, Pseudonymiser, rewrite
from keel.guard.pii.stream import StreamGuard

__all__ = ["Action", "PiiActions", "RequestGuard", "blocked_message"]


class Action(StrEnum):
    ALLOW = "allow"
    REDACT = "redact"
    PSEUDONYMISE = "pseudonymise"
    BLOCK = "block"


class PiiActions:
    """What to do with each kind; a kind not named is allowed (not even looked for)."""

    def __init__(
        self,
        actions: Mapping[AnyKind, Action],
        *,
        numbered: bool = False,
        ner: Recogniser | None = None,
    ) -> None:
        self.actions = dict(actions)
        self.numbered = numbered
        self.ner = ner
        self.inspected = frozenset(k for k, a in self.actions.items() if a is not Action.ALLOW)
        needs = sorted(self.inspected & NER_KINDS)
        if needs and ner is None:
            verb = "needs" if len(needs) == 1 else "need"
            raise ValueError(
                f"PII kind {', '.join(needs)} {verb} a recogniser (an NER model): switch on "
                "the data class's pii.ner, pass one as ner=..., or set them to allow"
            )
        self.blocking = self._with(Action.BLOCK)
        self.pseudonymising = self._with(Action.PSEUDONYMISE)
        self.outbound = self._with(Action.REDACT) | self.blocking

    @classmethod
    def parse(
        cls, actions: Mapping[str, str], *, numbered: bool = False, ner: Recogniser | None = None
    ) -> PiiActions:
        """From config strings; a ValueError names the unknown kind or action."""
        parsed: dict[AnyKind, Action] = {}
        for kind, action in actions.items():
            if kind not in Kind.__members__:
                raise ValueError(f"unknown PII kind {kind!r}; use one of {', '.join(Kind)}")
            if action not in Action._value2member_map_:
                raise ValueError(f"unknown PII action {action!r}; use one of {', '.join(Action)}")
            parsed[Kind(kind)] = Action(action)
        return cls(parsed, numbered=numbered, ner=ner)

    def _with(self, action: Action) -> frozenset[AnyKind]:
        return frozenset(k for k, a in self.actions.items() if a is action)


# Applies a text function to every text of a request body (keel.guard.pii.chat's shape).
BodyMap = Callable[[dict[str, Any], Callable[[str], str]], dict[str, Any]]


class RequestGuard:
    """The PII guard for one request: its pseudonyms and numbering span request and answer."""

    def __init__(self, policy: PiiActions) -> None:
        self.policy = policy
        self.labels = Labels(policy.numbered)
        self.pseudonymiser: Pseudonymiser | None = None
        if policy.pseudonymising:
            self.pseudonymiser = Pseudonymiser(policy.pseudonymising, policy.ner)
        self.found: Counter[AnyKind] = Counter()  # entities seen in the request, per kind

    def inbound(
        self, body: dict[str, Any], map_text: BodyMap = map_chat_text
    ) -> tuple[dict[str, Any], list[AnyKind]]:
        """The body to send upstream, and the kinds that block it (sorted; empty: none).
        ``map_text`` walks the body's texts (a chat body's, unless another protocol's).

        When something blocks, the body is returned unchanged: the request must not go on.
        """
        if not self.policy.inspected:
            return body, []
        blocked: set[AnyKind] = set()
        guarded = map_text(body, lambda text: self._inbound_text(text, blocked))
        return (body, sorted(blocked)) if blocked else (guarded, [])

    def outbound(self, answer: dict[str, Any]) -> dict[str, Any]:
        """A non-streamed answer, redacted and with pseudonyms restored."""
        if not self.policy.outbound and self.pseudonymiser is None:
            return answer
        return map_answer_text(answer, self.stream_guard().apply)

    def stream_guard(self) -> StreamGuard:
        """A guard for one streamed text (``feed``/``flush``)."""
        return StreamGuard(self.policy.outbound, self.pseudonymiser, labels=self.labels)

    def _inbound_text(self, text: str, blocked: set[AnyKind]) -> str:
        found = detect(text, self.policy.inspected, self.policy.ner)
        if self.pseudonymiser is not None:  # a name found before, mentioned again alone
            found = self.pseudonymiser.mentions(text, found)
        if not found:
            return text
        self.found.update(e.kind for e in found)
        blocked.update(e.kind for e in found if e.kind in self.policy.blocking)
        return rewrite(text, found, self._replacement)

    def _replacement(self, entity: Entity, value: str) -> str:
        if self.pseudonymiser is not None and entity.kind in self.policy.pseudonymising:
            return self.pseudonymiser.placeholder(entity.kind, value)
        return self.labels.label(entity.kind, value)


def blocked_message(kinds: list[AnyKind]) -> str:
    """The 400's message: it names the kinds found, never a value."""
    names = ", ".join(kinds)
    return (
        f"The request contains personal data of a kind its data class blocks: {names}. "
        "Remove it and retry, or ask an administrator for a data class that allows it."
    )

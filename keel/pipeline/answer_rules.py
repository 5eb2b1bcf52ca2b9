"""What a data class lets leave in an answer: each text of it (a choice's content, a content
block, a tool call's arguments) through the class's guards, secrets first, then personal data,
whole or streamed across chunk boundaries.

A guard whose class says ``answers: block`` refuses instead of rewriting: a whole answer
becomes a 403 ``answer_blocked`` naming the kinds (never the values), and a stream stops with
that error event before the text that held them is let out (what the guards held back is not
released). A stream that breaks upstream lets out what its guards held, rewritten, before the
error event: the client has the same text it would have had up to the break.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keel.answer import Event
from keel.call import Call
from keel.errors import PermissionDenied
from keel.guard.pii.entities import AnyKind
from keel.guard.pii.rewrite import Labels
from keel.pipeline.meter import usage_from_answer
from keel.protocols import EventGuard
from keel.protocols.base import TextGuard

__all__ = ["AnswerRules", "Found", "Part", "answer_blocked"]


class Found(Labels):
    """Labels that keep each kind they label: what a blocking guard found."""

    def __init__(self, numbered: bool = False) -> None:
        super().__init__(numbered)
        self.kinds: set[str] = set()

    def label(self, kind: AnyKind, value: str) -> str:
        self.kinds.add(kind.value)
        return super().label(kind, value)


@dataclass(frozen=True, slots=True)
class Part:
    """One guard's share of the rules: ``new`` makes its guard for one text, with the set
    its finds are kept in when it blocks (None: it rewrites)."""

    name: str  # "secrets" or "pii": in the record and the refusal
    new: Callable[[], tuple[TextGuard, set[str] | None]]


class _Chain:
    """One text's guards in order; ``blocked`` is what the blocking ones found."""

    __slots__ = ("found", "guards")

    def __init__(self, parts: tuple[Part, ...]) -> None:
        made = [(part.name, *part.new()) for part in parts]
        self.guards = [guard for _, guard, _ in made]
        self.found = [(name, kinds) for name, _, kinds in made if kinds is not None]

    def feed(self, text: str) -> str:
        for guard in self.guards:
            text = guard.feed(text)
        return text

    def flush(self) -> str:
        text = ""
        for guard in self.guards:
            text = guard.feed(text) + guard.flush()
        return text

    def apply(self, text: str) -> str:
        for guard in self.guards:
            text = guard.apply(text)
        return text


class AnswerRules:
    """One call's answer through its data class's guards: a whole body, or each streamed
    chunk; the first find of a blocking guard ends it."""

    def __init__(self, call: Call, parts: tuple[Part, ...]) -> None:
        self.call = call
        self.parts = parts
        self.chains: list[_Chain] = []
        self.chunks: EventGuard | None = None

    def body(self, body: Event) -> None:
        answer = body.data
        if answer is None:
            return  # not an answer the meter will take either
        guarded = self.call.protocol.map_answer_text(answer, lambda text: self._new().apply(text))
        if self._blocked():
            self.call.usage = usage_from_answer(self.call, answer)  # the upstream was paid
            raise self._refusal()
        if guarded is not answer:  # an answer with nothing to change leaves byte for byte
            body.replace(guarded)

    def events(self, events: list[Event]) -> list[Event]:
        if self.chunks is None:
            self.chunks = self.call.protocol.event_guard(self._new)
        out = self.chunks.feed(events)
        if self._blocked():
            raise self._refusal()
        return out

    def drain(self) -> list[Event]:
        """The stream broke: the events that carry what the guards still hold, rewritten;
        none if a blocking guard finds something in it (recorded, not let out)."""
        held = self.chunks.flush() if self.chunks is not None else []
        if self._blocked():
            self._refusal()
            return []
        return held

    def end(self) -> None:
        return None

    def _new(self) -> _Chain:
        chain = _Chain(self.parts)
        if chain.found:
            self.chains.append(chain)
        return chain

    def _blocked(self) -> bool:
        return any(kinds for chain in self.chains for _, kinds in chain.found)

    def _refusal(self) -> PermissionDenied:
        found: dict[str, set[str]] = {}
        for chain in self.chains:
            for name, kinds in chain.found:
                found.setdefault(name, set()).update(kinds)
        for name, kinds in sorted(found.items()):
            if kinds:
                self.call.guards.append(f"{name}:block-answer:" + ",".join(sorted(kinds)))
        return answer_blocked(sorted(k for kinds in found.values() for k in kinds))


def answer_blocked(kinds: list[str]) -> PermissionDenied:
    """The refusal of an answer: it names the kinds found, never a value."""
    names = ", ".join(kinds)
    return PermissionDenied(
        f"The model's answer contained data of a kind this data class does not let out: "
        f"{names}. It was withheld. Ask for an answer without it, or ask an administrator "
        "for a data class that allows it.",
        code="answer_blocked",
    )

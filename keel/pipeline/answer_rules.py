"""What a data class lets leave in an answer: each text of it (a choice's content, a content
block, a tool call's arguments) through the class's guards, secrets first, then personal data,
whole or streamed across chunk boundaries.

A guard whose class says ``answers: block`` refuses instead of rewriting: a whole answer
becomes a 403 ``answer_blocked`` naming the kinds (never the values), and a stream stops with
that error event before the text that held them is let out: the secrets guard lets out what
came before the secret in the same batch of events, then stops; a batch in which another
guard found something is withheld whole. A stream that breaks upstream lets out what its
guards held, rewritten, before the error event: the client has the same text it would have
had up to the break.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keel.answer import Event
from keel.call import Call
from keel.errors import PermissionDenied
from keel.guard.pii.entities import AnyKind
from keel.guard.pii.rewrite import Labels
from keel.pipeline import Withheld
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
    its finds are kept in when it blocks (None: it rewrites). ``stops``: a guard that
    blocks lets out the text before its first find, then nothing more (the secrets guard);
    else what a batch of events brought with a find is all withheld."""

    name: str  # "secrets" or "pii": in the record and the refusal
    new: Callable[[], tuple[TextGuard, set[str] | None]]
    blocks: bool = False
    stops: bool = False


class _Chain:
    """One text's guards in order (a single guard goes without one)."""

    __slots__ = ("guards",)

    def __init__(self, guards: list[TextGuard]) -> None:
        self.guards = guards

    def feed(self, text: str) -> str:
        for guard in self.guards:
            text = guard.feed(text)
        return text

    def flush(self) -> str:
        text = ""
        for guard in self.guards:  # the first has nothing fed to it: its flush alone
            text = (guard.feed(text) if text else "") + guard.flush()
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
        self.blocks = any(part.blocks for part in parts)
        self.found: list[tuple[Part, set[str]]] = []  # each blocking guard's finds
        self.chunks: EventGuard | None = None

    def body(self, body: Event) -> None:
        answer = body.data
        if answer is None:
            return  # not an answer the meter will take either
        guarded = self.call.protocol.map_answer_text(answer, lambda text: self._new().apply(text))
        if self.blocks and self._blocked():
            self.call.usage = usage_from_answer(self.call, answer)  # the upstream was paid
            raise self._refusal()
        if guarded is not answer:  # an answer with nothing to change leaves byte for byte
            body.replace(guarded)

    def events(self, events: list[Event]) -> list[Event]:
        if self.chunks is None:
            self.chunks = self.call.protocol.event_guard(self._new)
        out = self.chunks.feed(events)
        if self.blocks and self._blocked():
            refusal = self._refusal()
            raise Withheld(refusal.message, code=refusal.code, before=self._before(out), stage=self)
        return out

    def drain(self) -> list[Event]:
        """The stream broke: the events that carry what the guards still hold, rewritten;
        none if a blocking guard finds something in it (recorded, not let out)."""
        held = self.chunks.flush() if self.chunks is not None else []
        if self.blocks and self._blocked():
            self._refusal()
            return []
        return held

    def end(self) -> None:
        return None

    def _new(self) -> TextGuard:
        guards = []
        for part in self.parts:
            guard, kinds = part.new()
            guards.append(guard)
            if kinds is not None:
                self.found.append((part, kinds))
        return guards[0] if len(guards) == 1 else _Chain(guards)

    def _blocked(self) -> bool:
        return any(kinds for _, kinds in self.found)

    def _before(self, events: list[Event]) -> list[Event]:
        """What may leave of the batch that brought a find: where every guard that found
        something stopped before it, the events but those that end the answer."""
        if not all(part.stops for part, kinds in self.found if kinds):
            return []
        finishes = self.call.protocol.finishes
        return [e for e in events if e.data is not None and not finishes(e.data)]

    def _refusal(self) -> PermissionDenied:
        found: dict[str, set[str]] = {}
        for part, kinds in self.found:
            found.setdefault(part.name, set()).update(kinds)
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

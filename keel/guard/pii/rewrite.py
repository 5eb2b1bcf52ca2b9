"""What to do with what was found: redact, pseudonymise and restore, or name the kinds to block."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

from keel.guard.pii.chat import chat_texts, map_chat_text
from keel.guard.pii.detectors import detect
from keel.guard.pii.entities import AnyKind, Entity, Kind, Recogniser

__all__ = [
    "Labels",
    "Pseudonymiser",
    "blocked_types",
    "blocked_types_chat",
    "pseudonymise_chat",
    "redact",
    "redact_chat",
    "rewrite",
]

# A pseudonymiser's placeholder: <EMAIL_1>. Capitals, digits and '_' only, at most 24 long
# (stream.py holds back a tail that could still grow into one).
PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]{1,14}_[0-9]{1,6})>")
PLACEHOLDER_MAX = 24
_NAME_WORD = re.compile(r"\w{2,}")
_WORD = re.compile(r"\w+")


class Labels:
    """Placeholders for values: ``[EMAIL]``, or numbered ``[EMAIL_1]`` where the same value
    keeps its number, so a reader still sees that two mentions are one person."""

    def __init__(self, numbered: bool = False, template: str = "[{}]") -> None:
        self.numbered = numbered
        self.template = template
        self._numbers: dict[tuple[AnyKind, str], str] = {}
        self._counts: dict[AnyKind, int] = {}

    def label(self, kind: AnyKind, value: str) -> str:
        if not self.numbered:
            return self.template.format(kind.value)
        known = self._numbers.get((kind, value))
        if known is None:
            n = self._counts[kind] = self._counts.get(kind, 0) + 1
            known = self._numbers[(kind, value)] = self.template.format(f"{kind.value}_{n}")
        return known


def rewrite(text: str, entities: Sequence[Entity], replace: Callable[[Entity, str], str]) -> str:
    """``text`` with each entity's span replaced; ``entities`` non-overlapping, in order."""
    if not entities:
        return text
    parts: list[str] = []
    at = 0
    for e in entities:
        parts.append(text[at : e.start])
        parts.append(replace(e, text[e.start : e.end]))
        at = e.end
    parts.append(text[at:])
    return "".join(parts)


def redact(
    text: str,
    kinds: Collection[AnyKind] | None = None,
    *,
    numbered: bool = False,
    ner: Recogniser | None = None,
) -> str:
    """``text`` with every entity replaced by its kind: ``[EMAIL]``, or ``[EMAIL_1]``."""
    labels = Labels(numbered)
    return rewrite(text, detect(text, kinds, ner), lambda e, v: labels.label(e.kind, v))


def blocked_types(
    text: str, kinds: Collection[AnyKind] | None = None, ner: Recogniser | None = None
) -> list[AnyKind]:
    """The kinds present in ``text``, sorted: for a 400 that names the types, never the values."""
    return sorted({e.kind for e in detect(text, kinds, ner)})


class Pseudonymiser:
    """One per request: the upstream sees ``<EMAIL_1>``, the client gets the value back.

    The same value gets the same placeholder for the whole request (every message), so the
    model can still tell two addresses apart and refer to each; ``restore`` puts the originals
    back into its answer. A placeholder the model invents (``<EMAIL_9>``) stays as it is.

    A person keeps one placeholder however they are named: after "Anna Schmidt" is
    ``<PERSON_1>``, so are "Ms Schmidt" and "Anna" (words of one earlier name only); a
    name that fits two people ("Schmidt" after Anna and Peter Schmidt) gets one of its own.
    The placeholder is restored as the fullest form seen.

    ``mentions`` finds a person's later mentions the recogniser missed ("Schmidt" alone,
    two messages on): any capitalised word of three letters or more of a name found
    earlier in the request (or in the same text), matched exactly, word for word.
    """

    def __init__(self, kinds: Collection[AnyKind] | None = None, ner: Recogniser | None = None):
        self.kinds = kinds
        self.ner = ner
        self._labels = Labels(numbered=True, template="<{}>")
        self._originals: dict[str, str] = {}
        self._people: dict[str, frozenset[str]] = {}  # a person's placeholder -> name words

    @property
    def mapping(self) -> dict[str, str]:
        """Placeholder -> original value. Secret: never log it, never send it upstream."""
        return dict(self._originals)

    def placeholder(self, kind: AnyKind, value: str) -> str:
        if kind is Kind.PERSON:
            return self._person(value)
        label = self._labels.label(kind, value)
        self._originals[label] = value
        return label

    def _person(self, value: str) -> str:
        words = frozenset(_NAME_WORD.findall(value.casefold()))
        same = [label for label, known in self._people.items() if known == words]
        if not same:  # "Ms Schmidt" after "Anna Schmidt", or "Anna Schmidt" after "Anna"
            same = [
                label for label, known in self._people.items() if words <= known or known <= words
            ]
        if len(same) == 1 and words:
            label = same[0]
        else:
            label = self._labels.label(Kind.PERSON, " ".join(sorted(words)) or value)
        self._people[label] = self._people.get(label, frozenset()) | words
        before = self._originals.get(label, "")
        if len(_NAME_WORD.findall(value)) > len(_NAME_WORD.findall(before)):
            self._originals[label] = value
        return label

    def mentions(self, text: str, found: Sequence[Entity]) -> list[Entity]:
        """``found`` (in order, non-overlapping) with the words of known names it lacks
        added as PERSON; adjacent words ("Anna Schmidt") make one mention."""
        if self.kinds is not None and Kind.PERSON not in self.kinds:
            return list(found)
        words = {w for known in self._people.values() for w in known}
        words.update(
            w.casefold()
            for e in found
            if e.kind is Kind.PERSON
            for w in _NAME_WORD.findall(text[e.start : e.end])
        )
        if not words:
            return list(found)
        extra = self._matches(text, words, found)
        return sorted([*found, *extra], key=lambda e: e.start) if extra else list(found)

    def _matches(self, text: str, words: set[str], found: Sequence[Entity]) -> list[Entity]:
        taken = [(e.start, e.end) for e in found]
        out: list[Entity] = []
        for m in _WORD.finditer(text):
            w = m.group()
            if len(w) < 3 or not w[0].isupper() or w.casefold() not in words:
                continue
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            if out and text[out[-1].end : m.start()] == " ":
                out[-1] = Entity(Kind.PERSON, out[-1].start, m.end())
            else:
                out.append(Entity(Kind.PERSON, m.start(), m.end()))
        return out

    def pseudonymise(self, text: str, entities: Sequence[Entity] | None = None) -> str:
        found = detect(text, self.kinds, self.ner) if entities is None else entities
        found = self.mentions(text, found)
        return rewrite(text, found, lambda e, v: self.placeholder(e.kind, v))

    def restore(self, text: str) -> str:
        if not self._originals or "<" not in text:
            return text
        return PLACEHOLDER.sub(self._original, text)

    def _original(self, m: re.Match[str]) -> str:
        return self._originals.get(m.group(), m.group())


def redact_chat(
    body: dict[str, Any],
    kinds: Collection[AnyKind] | None = None,
    *,
    numbered: bool = False,
    ner: Recogniser | None = None,
) -> dict[str, Any]:
    """A chat request redacted message by message; numbers run across the whole request."""
    labels = Labels(numbered)

    def one(text: str) -> str:
        return rewrite(text, detect(text, kinds, ner), lambda e, v: labels.label(e.kind, v))

    return map_chat_text(body, one)


def pseudonymise_chat(body: dict[str, Any], pseudonymiser: Pseudonymiser) -> dict[str, Any]:
    return map_chat_text(body, pseudonymiser.pseudonymise)


def blocked_types_chat(
    body: dict[str, Any], kinds: Collection[AnyKind] | None = None, ner: Recogniser | None = None
) -> list[AnyKind]:
    """The kinds present anywhere in a chat request's texts, sorted."""
    return sorted({e.kind for text in chat_texts(body) for e in detect(text, kinds, ner)})

"""What the PII guard finds: an entity is a kind and a character span, never a copy of the value."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["NER_KINDS", "AnyKind", "CustomKind", "Entity", "Kind", "Matcher", "Recogniser"]


class Kind(StrEnum):
    """Stable names: they appear in placeholders, in config and in error messages."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CARD = "CARD"
    IBAN = "IBAN"
    IP = "IP"
    US_SSN = "US_SSN"
    UK_NI = "UK_NI"
    DE_TAX_ID = "DE_TAX_ID"
    DOB = "DOB"
    IN_AADHAAR = "IN_AADHAAR"
    IN_PAN = "IN_PAN"
    FR_NIR = "FR_NIR"
    ES_DNI = "ES_DNI"
    ES_NIE = "ES_NIE"
    IT_CF = "IT_CF"
    NL_BSN = "NL_BSN"
    PL_PESEL = "PL_PESEL"
    SE_PIN = "SE_PIN"
    BR_CPF = "BR_CPF"
    PERSON = "PERSON"  # only from a Recogniser (NER): no pattern finds names
    ADDRESS = "ADDRESS"  # a postal address (street and number, postcode, town): NER too
    ORG = "ORG"  # a company or organisation's name: NER too


# The kinds only a Recogniser finds.
NER_KINDS = frozenset({Kind.PERSON, Kind.ADDRESS, Kind.ORG})


class Matcher(Protocol):
    """How a custom kind is found (keel.guard.pii.custom): a pattern, then its checks."""

    @property
    def pattern(self) -> re.Pattern[str]: ...

    def accept(self, text: str, m: re.Match[str]) -> int | None: ...

    def pending(self, text: str, m: re.Match[str]) -> bool: ...


class CustomKind(str):
    """A kind a data class defines in config (an employee number, a customer id): a name like
    a built-in kind's, in placeholders and error messages, carrying what finds it. Asking
    for it in ``detect(text, kinds)`` runs its matcher."""

    matcher: Matcher

    def __new__(cls, name: str, matcher: Matcher) -> CustomKind:
        kind = super().__new__(cls, name)
        kind.matcher = matcher
        return kind

    @property
    def value(self) -> str:
        return str.__str__(self)


AnyKind = Kind | CustomKind


@dataclass(frozen=True, slots=True)
class Entity:
    kind: AnyKind
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


class Recogniser(Protocol):
    """The optional NER hook (person names and whatever else a model finds).

    keel ships one (``keel.guard.ner``, switched on per data class with ``pii.ner``); plug
    in another (spaCy, an ONNX tagger, a remote service) by passing any callable that
    returns entities with spans into ``text``. Its entities are merged with the pattern
    detectors' and overlaps resolved the same way. It runs on whole texts only; the stream
    guard does not call it, because a name has no bounded shape that says how much of a
    stream to hold back.
    """

    def __call__(self, text: str) -> Iterable[Entity]: ...

"""Finding PII in text: patterns, then validity checks, then one winner per stretch of text.

``detect`` is the entry point. Every pattern is compiled at import; text with no digit and
no '@' is answered by one C-level search (``TRIGGER``) and costs well under a microsecond.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from keel.guard.pii import patterns as p
from keel.guard.pii.checks import (
    IBAN_LENGTHS,
    card_brand_ok,
    de_tax_id_ok,
    iban_ok,
    ipv4_ok,
    luhn_ok,
    uk_ni_ok,
    us_ssn_ok,
)
from keel.guard.pii.dates import BEFORE, accept_dob, birth_words, dob_pending
from keel.guard.pii.entities import Entity, Kind, Recogniser

__all__ = ["LOOK_BEHIND", "PRIORITY", "SSN_WINDOW", "Scan", "detect", "resolve", "scan"]

# How far before nine bare digits "SSN" or "social security" may stand.
SSN_WINDOW = 32
_VERSION_WINDOW = 12
# The farthest any detector reads left of where a match starts: its context words, plus a
# lookbehind of at most three characters. stream.py keeps this much of the forwarded text.
LOOK_BEHIND = max(BEFORE, SSN_WINDOW, _VERSION_WINDOW) + 3

# On equal length, the more specific kind wins: checksummed ones first, names last.
_SPECIFIC_FIRST = [Kind.IBAN, Kind.CARD, Kind.US_SSN, Kind.UK_NI, Kind.DE_TAX_ID, Kind.EMAIL]
_SPECIFIC_FIRST += [Kind.IP, Kind.DOB, Kind.PHONE, Kind.PERSON, Kind.ORG, Kind.ADDRESS]
PRIORITY: dict[Kind, int] = {kind: rank for rank, kind in enumerate(_SPECIFIC_FIRST)}
_DIGIT = re.compile("[0-9]")

# accept(text, match) -> the entity's end, or None when the match is a look-alike.
Accept = Callable[[str, re.Match[str]], int | None]


def _digits(s: str) -> str:
    return "".join(ch for ch in s if "0" <= ch <= "9")


def _card(text: str, m: re.Match[str]) -> int | None:
    digits = _digits(m.group())
    return m.end() if luhn_ok(digits) and card_brand_ok(digits) else None


def _ssn(text: str, m: re.Match[str]) -> int | None:
    return m.end() if us_ssn_ok(_digits(m.group())) else None


def _plain_ssn(text: str, m: re.Match[str]) -> int | None:
    start = m.start()
    context = None
    for context in p.SSN_CONTEXT.finditer(text, max(0, start - SSN_WINDOW), start):  # noqa: B007
        pass  # the nearest one counts: nothing but words may stand between it and the number
    if context is None or _DIGIT.search(text, context.end(), start):
        return None
    return m.end() if us_ssn_ok(m.group()) else None


def _tax_id(text: str, m: re.Match[str]) -> int | None:
    return m.end() if de_tax_id_ok(_digits(m.group())) else None


def _ni(text: str, m: re.Match[str]) -> int | None:
    return m.end() if uk_ni_ok(m.group().replace(" ", "")) else None


def _iban(text: str, m: re.Match[str]) -> int | None:
    """The checksum over the country's length: a code-like word after an IBAN is not part of it."""
    raw = m.group()
    want = IBAN_LENGTHS.get(raw[:2])
    if want is None:
        return None
    seen = 0
    for i, ch in enumerate(raw):
        seen += ch != " "
        if seen == want:
            end = i + 1
            if end < len(raw) and raw[end] != " ":
                return None  # the length ends inside a group
            return m.start() + end if iban_ok(raw[:end].replace(" ", "")) else None
    return None


def _ipv4(text: str, m: re.Match[str]) -> int | None:
    start = m.start()
    if not ipv4_ok(m.group()) or p.VERSION_BEFORE.search(
        text, max(0, start - _VERSION_WINDOW), start
    ):
        return None
    return m.end()


def _ipv6(text: str, m: re.Match[str]) -> int | None:
    raw = m.group()
    # Fewer than four hex digits is "::1", "a::b" (Rust paths) and the like: not personal data.
    if sum(ch not in ":." for ch in raw) < 4:
        return None
    try:
        ipaddress.IPv6Address(raw)
    except ValueError:
        return None
    return m.end()


def _phone(text: str, m: re.Match[str]) -> int | None:
    n = len(_digits(m.group()))
    return m.end() if 8 <= n <= 15 else None


def _email(text: str, m: re.Match[str]) -> int | None:
    return m.end()


def _has(ch: str) -> Callable[[str], bool]:
    return lambda text: ch in text


def _may_hold_ipv6(text: str) -> bool:
    return "::" in text or text.count(":") >= 7


@dataclass(frozen=True, slots=True)
class _Detector:
    kind: Kind
    pattern: re.Pattern[str]
    accept: Accept
    # A cheap test on the whole text: when false, the pattern cannot find an entity.
    gate: Callable[[str], bool] | None = None
    # While true, a match may still be accepted once more text arrives (stream.py waits).
    pending: Callable[[str, re.Match[str]], bool] | None = None


_DETECTORS: tuple[_Detector, ...] = (
    _Detector(Kind.EMAIL, p.EMAIL, _email, _has("@")),
    _Detector(Kind.IBAN, p.IBAN, _iban),
    _Detector(Kind.CARD, p.CARD, _card),
    _Detector(Kind.US_SSN, p.US_SSN, _ssn),
    _Detector(Kind.US_SSN, p.US_SSN_PLAIN, _plain_ssn),
    _Detector(Kind.UK_NI, p.UK_NI, _ni),
    _Detector(Kind.DE_TAX_ID, p.DE_TAX_ID, _tax_id),
    _Detector(Kind.IP, p.IPV4, _ipv4, _has(".")),
    _Detector(Kind.IP, p.IPV6, _ipv6, _may_hold_ipv6),
    _Detector(Kind.DOB, p.DATE_NUMERIC, accept_dob, birth_words, dob_pending),
    _Detector(Kind.DOB, p.DATE_MONTH_FIRST, accept_dob, birth_words, dob_pending),
    _Detector(Kind.PHONE, p.PHONE_PLUS, _phone, _has("+")),
    _Detector(Kind.PHONE, p.PHONE_PAREN, _phone, _has("(")),
    _Detector(Kind.PHONE, p.PHONE_NUMBER, _phone),
)
# A date this close to the end of a text may still be waiting for its birth word.
_PENDING_TAIL = 64


@dataclass(slots=True)
class Scan:
    """What one pass found: the entities, every pattern match (valid or not), and where a
    match starts that more text could still turn into an entity."""

    entities: list[Entity]
    matches: list[tuple[int, int]]
    pending: list[int]


def scan(text: str, pos: int = 0, kinds: Collection[Kind] | None = None) -> Scan:
    """Matches starting at ``pos`` or later; the text before ``pos`` is context only."""
    found = Scan([], [], [])
    if not p.TRIGGER.search(text, pos) and "::" not in text:
        return found
    gates: dict[Callable[[str], bool], bool] = {}
    for d in _DETECTORS:
        if kinds is not None and d.kind not in kinds:
            continue
        if d.gate is not None:
            passed = gates.get(d.gate)
            if passed is None:
                passed = gates[d.gate] = d.gate(text)
            if not passed:
                if d.pending is not None:
                    _pending_only(text, pos, d.pattern, d.pending, found)
                continue
        for m in d.pattern.finditer(text, pos):
            found.matches.append(m.span())
            end = d.accept(text, m)
            if end is not None:
                found.entities.append(Entity(d.kind, m.start(), end))
            elif d.pending is not None and d.pending(text, m):
                found.pending.append(m.start())
    found.entities = resolve(found.entities)
    return found


def _pending_only(
    text: str,
    pos: int,
    pattern: re.Pattern[str],
    pending: Callable[[str, re.Match[str]], bool],
    found: Scan,
) -> None:
    """Gated out, a pattern can still have a match waiting for words yet to come: look in
    the tail only, where such a match must be."""
    for m in pattern.finditer(text, max(pos, len(text) - _PENDING_TAIL)):
        if pending(text, m):
            found.pending.append(m.start())


def resolve(entities: Iterable[Entity]) -> list[Entity]:
    """Non-overlapping, in text order: the longest wins, then the more specific kind."""
    ranked = sorted(entities, key=lambda e: (e.start - e.end, PRIORITY[e.kind], e.start))
    kept: list[Entity] = []
    for e in ranked:
        if all(e.end <= k.start or k.end <= e.start for k in kept):
            kept.append(e)
    kept.sort(key=lambda e: e.start)
    return kept


def detect(
    text: str, kinds: Collection[Kind] | None = None, ner: Recogniser | None = None
) -> list[Entity]:
    """The PII entities in ``text``, non-overlapping and in order.

    ``kinds`` limits the search (``None``: every pattern kind); ``ner`` adds a recogniser's
    entities (person names), resolved against the patterns' own.
    """
    found = scan(text, 0, kinds).entities
    if ner is None:
        return found
    extra = [e for e in ner(text) if kinds is None or e.kind in kinds]
    return resolve([*found, *extra]) if extra else found

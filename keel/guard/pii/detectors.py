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
from keel.guard.pii.checks import IBAN_LENGTHS, de_tax_id_ok, iban_ok, ipv4_ok, uk_ni_ok, us_ssn_ok
from keel.guard.pii.context import WINDOW, not_personal
from keel.guard.pii.custom import MAX_WINDOW
from keel.guard.pii.dates import BEFORE, accept_dob, birth_words, dob_pending
from keel.guard.pii.entities import AnyKind, CustomKind, Entity, Kind, Recogniser
from keel.guard.pii.identifiers import NATIONAL, Accept, accept_card
from keel.guard.pii.phones import accept_phone, phone_pending

__all__ = [
    "LOOK_BEHIND",
    "PRIORITY",
    "SSN_WINDOW",
    "Scan",
    "detect",
    "resolve",
    "scan",
]

# How far before nine bare digits "SSN" or "social security" may stand.
SSN_WINDOW = 32
_VERSION_WINDOW = 12
# The farthest any detector reads left of where a match starts: its context words, plus a
# lookbehind of at most three characters. stream.py keeps this much of the forwarded text.
# (Custom recognisers' context words count too.)
LOOK_BEHIND = max(BEFORE, SSN_WINDOW, _VERSION_WINDOW, WINDOW, MAX_WINDOW) + 3

# On equal length, the more specific kind wins (an Aadhaar over the rare 12-digit Maestro
# that also passes its check): checksummed ones first (those with letters
# or a long check before bare digits with one check digit), phones and names last; a
# custom kind ranks after the checksummed ones, before e-mail.
_SPECIFIC_FIRST = [
    Kind.IBAN,
    Kind.IN_AADHAAR,
    Kind.CARD,
    Kind.IT_CF,
    Kind.ES_NIE,
    Kind.ES_DNI,
    Kind.IN_PAN,
]
_SPECIFIC_FIRST += [Kind.FR_NIR, Kind.US_SSN, Kind.UK_NI, Kind.BR_CPF, Kind.PL_PESEL]
_SPECIFIC_FIRST += [Kind.SE_PIN, Kind.DE_TAX_ID, Kind.NL_BSN]
_SPECIFIC_FIRST += [Kind.EMAIL, Kind.IP, Kind.DOB, Kind.PHONE, Kind.PERSON, Kind.ORG, Kind.ADDRESS]
PRIORITY: dict[AnyKind, int] = {kind: rank for rank, kind in enumerate(_SPECIFIC_FIRST)}
_CUSTOM_RANK = PRIORITY[Kind.EMAIL] - 0.5
_DIGIT = re.compile("[0-9]")


def _digits(s: str) -> str:
    return "".join(ch for ch in s if "0" <= ch <= "9")


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
    if not de_tax_id_ok(_digits(m.group())) or not_personal(text, m.start()):
        return None
    return m.end()


def _ni(text: str, m: re.Match[str]) -> int | None:
    return m.end() if uk_ni_ok(m.group().replace(" ", "").upper()) else None


def _iban(text: str, m: re.Match[str]) -> int | None:
    """The checksum over the country's length: a code-like word after an IBAN is not part of it."""
    raw = m.group().upper()
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


def _email(text: str, m: re.Match[str]) -> int | None:
    return m.end()


def _has(ch: str) -> Callable[[str], bool]:
    return lambda text: ch in text


def _lower_code(text: str) -> bool:
    return p.LOWER_CODE.search(text) is not None


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
    # Where it runs: near a digit seed (patterns.SEED), within "wide" reach of one (a
    # pattern that starts with letters, or a date whose year is the seed), "narrow" (one
    # that starts at a seed's first digit, or the '+' or '(' before it), "iban" (a whole
    # IBAN either side); or the whole "text".
    reach: str = "narrow"
    # The gate reads the text near the seeds only (lower-case codes are always near one).
    gate_near_seeds: bool = False


_LETTERS_FIRST = (p.IN_PAN, p.ES_NIE, p.IT_CF, p.IT_CF_LOWER)


def _national(kind: Kind, pattern: re.Pattern[str], accept: Accept) -> _Detector:
    lower = pattern is p.IT_CF_LOWER
    reach = "wide" if pattern in _LETTERS_FIRST else "narrow"
    return _Detector(kind, pattern, accept, _lower_code if lower else None, None, reach, lower)


_DETECTORS: tuple[_Detector, ...] = (
    _Detector(Kind.EMAIL, p.EMAIL, _email, _has("@"), reach="text"),
    _Detector(Kind.IBAN, p.IBAN, _iban, reach="iban"),
    _Detector(Kind.IBAN, p.IBAN_LOWER, _iban, _lower_code, reach="iban", gate_near_seeds=True),
    _Detector(Kind.CARD, p.CARD, accept_card),
    _Detector(Kind.US_SSN, p.US_SSN, _ssn),
    _Detector(Kind.US_SSN, p.US_SSN_PLAIN, _plain_ssn),
    _Detector(Kind.UK_NI, p.UK_NI, _ni, reach="wide"),
    _Detector(Kind.UK_NI, p.UK_NI_LOWER, _ni, _lower_code, reach="wide", gate_near_seeds=True),
    _Detector(Kind.DE_TAX_ID, p.DE_TAX_ID, _tax_id),
    _Detector(Kind.IP, p.IPV4, _ipv4, _has(".")),
    _Detector(Kind.IP, p.IPV6, _ipv6, _may_hold_ipv6, reach="text"),
    _Detector(Kind.DOB, p.DATE_NUMERIC, accept_dob, birth_words, dob_pending, "wide"),
    _Detector(Kind.DOB, p.DATE_MONTH_FIRST, accept_dob, birth_words, dob_pending, "wide"),
    *(_national(kind, pattern, accept) for kind, pattern, accept in NATIONAL),
    _Detector(Kind.PHONE, p.PHONE_PLUS, accept_phone, _has("+"), phone_pending),
    _Detector(Kind.PHONE, p.PHONE_LOCAL, accept_phone, None, phone_pending),
)
# A date this close to the end of a text may still be waiting for its birth word.
_PENDING_TAIL = 64
# How far from a seed a pattern's match may begin or end (see _Detector.reach): letters
# before an IBAN's or an NI number's digits, "12 September " before a year; a phone's
# '+' or '(' before its digits, " ext. 123" or a DNI's "-Z" after them.
_WIDE = 20
_NARROW_LEFT = 2
_NARROW_RIGHT = 12
_IBAN = 42  # an IBAN's 34 characters and its spaces: a seed anywhere inside it will do
_MAX_WINDOWS = 8


@dataclass(slots=True)
class Scan:
    """What one pass found: the entities, every pattern match (valid or not), and where a
    match starts that more text could still turn into an entity."""

    entities: list[Entity]
    matches: list[tuple[int, int]]
    pending: list[int]


def scan(text: str, pos: int = 0, kinds: Collection[AnyKind] | None = None) -> Scan:
    """Matches starting at ``pos`` or later; the text before ``pos`` is context only.
    A custom kind in ``kinds`` runs its own matcher (it is looked for even in text without
    a digit or an '@')."""
    found = Scan([], [], [])
    for kind in kinds or ():
        if isinstance(kind, CustomKind):
            m = kind.matcher
            _find(text, pos, len(text), kind, m.pattern, m.accept, m.pending, found)
    if not p.TRIGGER.search(text, pos) and "::" not in text:
        found.entities = resolve(found.entities)
        return found
    seeds = [m.span() for m in p.SEED.finditer(text, max(0, pos - _IBAN))]
    spans = {
        "narrow": _windows(seeds, pos, len(text), _NARROW_LEFT, _NARROW_RIGHT),
        "wide": _windows(seeds, pos, len(text), _WIDE, _WIDE),
        "iban": _windows(seeds, pos, len(text), _IBAN, _IBAN),
        "text": [(pos, len(text))],
    }
    near = "\x00".join(text[a:b] for a, b in spans["wide"])
    gates: dict[tuple[Callable[[str], bool], bool], bool] = {}
    for d in _DETECTORS:
        if kinds is not None and d.kind not in kinds:
            continue
        if d.gate is not None:
            key = (d.gate, d.gate_near_seeds)
            passed = gates.get(key)
            if passed is None:
                passed = gates[key] = d.gate(near if d.gate_near_seeds else text)
            if not passed:
                if d.pending is not None:
                    _pending_only(text, pos, d.pattern, d.pending, found)
                continue
        for a, b in spans[d.reach]:
            _find(text, a, b, d.kind, d.pattern, d.accept, d.pending, found)
    found.entities = resolve(found.entities)
    return found


def _windows(
    seeds: list[tuple[int, int]], pos: int, n: int, left: int, right: int
) -> list[tuple[int, int]]:
    """The stretches from ``left`` before a seed to ``right`` after it, merged, from ``pos``
    on. A pattern run over one sees the text before it (lookbehinds, context words) but
    not past its end; many apart cost more in calls than one scan, so they become one."""
    windows: list[tuple[int, int]] = []
    for start, end in seeds:
        a, b = max(pos, start - left), min(n, end + right)
        if b <= a:
            continue
        if windows and a <= windows[-1][1]:
            windows[-1] = (windows[-1][0], b)
        else:
            windows.append((a, b))
    if len(windows) > _MAX_WINDOWS:
        return [(windows[0][0], windows[-1][1])]
    return windows


def _find(
    text: str,
    pos: int,
    endpos: int,
    kind: AnyKind,
    pattern: re.Pattern[str],
    accept: Accept,
    pending: Callable[[str, re.Match[str]], bool] | None,
    found: Scan,
) -> None:
    for m in pattern.finditer(text, pos, endpos):
        found.matches.append(m.span())
        end = accept(text, m)
        if end is not None:
            found.entities.append(Entity(kind, m.start(), end))
        elif pending is not None and pending(text, m):
            found.pending.append(m.start())


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
    ranked = sorted(entities, key=lambda e: (e.start - e.end, _rank(e.kind), e.start))
    kept: list[Entity] = []
    for e in ranked:
        if all(e.end <= k.start or k.end <= e.start for k in kept):
            kept.append(e)
    kept.sort(key=lambda e: e.start)
    return kept


def _rank(kind: AnyKind) -> float:
    return PRIORITY.get(kind, _CUSTOM_RANK)


def detect(
    text: str, kinds: Collection[AnyKind] | None = None, ner: Recogniser | None = None
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

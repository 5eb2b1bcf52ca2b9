"""The national identifiers' detectors: a pattern, the issuer's rule, and the context.

Ids with a letter or a distinctive shape (NIR, DNI, NIE, codice fiscale, PAN, a dotted CPF)
need only their rule. Bare runs of digits (Aadhaar, BSN, PESEL, personnummer, an unbroken
CPF) pass a check digit about one time in ten by chance, so for them a label of another kind
just before ("Tel.", "Order", "PESEL" before a BSN-shaped number) wins over the checksum.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from keel.guard.pii import national
from keel.guard.pii import patterns as p
from keel.guard.pii.checks import card_brand_ok, luhn_ok
from keel.guard.pii.checksums import gs1_ok
from keel.guard.pii.context import WINDOW, label_before, not_personal
from keel.guard.pii.entities import Kind
from keel.guard.pii.numbering import unbroken_phone

__all__ = ["NATIONAL", "Accept", "accept_card"]

# accept(text, match) -> the entity's end, or None when the match is a look-alike.
Accept = Callable[[str, re.Match[str]], int | None]
_KEEP = re.compile(r"[0-9A-Za-z]")
_GLUED = re.compile(r"[0-9A-Za-z][\-/#]\Z")


def _compact(raw: str) -> str:
    return "".join(_KEEP.findall(raw)).upper()


def _rule(kind: Kind, ok: Callable[[str], bool], bare_digits: bool) -> Accept:
    def accept(text: str, m: re.Match[str]) -> int | None:
        if not ok(_compact(m.group())) or not_personal(text, m.start()):
            return None
        if bare_digits:
            label = label_before(text, m.start())
            if label is not None and label != kind.value:
                return None
        return m.end()

    return accept


# Bare digits that pass two kinds' checks at once (about one eleven-digit PESEL in a hundred
# is also a valid CPF; one phone in a hundred a personnummer) go to the other kind unless a
# label, or the letters of the id's own language in the words just before, say otherwise.
_POLISH = frozenset("ąćęłńśźżĄĆĘŁŃŚŹŻ")
_SWEDISH = frozenset("åäöÅÄÖ")
_cpf_rule = _rule(Kind.BR_CPF, national.br_cpf_ok, True)
_se_pin_rule = _rule(Kind.SE_PIN, national.se_pin_ok, True)


def _letters_before(text: str, start: int, letters: frozenset[str]) -> bool:
    return not letters.isdisjoint(text[max(0, start - WINDOW) : start])


def _cpf(text: str, m: re.Match[str]) -> int | None:
    """A dotted CPF (123.456.789-09) is distinctive; eleven bare digits are not, and in
    Polish words they are a PESEL that also passes the CPF's sums."""
    raw = m.group()
    if "." in raw:
        return _rule(Kind.BR_CPF, national.br_cpf_ok, False)(text, m)
    if (
        national.pl_pesel_ok(raw)
        and national.br_cpf_ok(raw)
        and label_before(text, m.start()) is None
        and _letters_before(text, m.start(), _POLISH)
    ):
        return None
    return _cpf_rule(text, m)


def _se_pin(text: str, m: re.Match[str]) -> int | None:
    """Ten unbroken digits in a numbering plan's shape (a North American or Italian
    number) are a phone that passes the personnummer's Luhn and date by chance, unless a
    label or Swedish words before say otherwise; written 850709-9805 it is a personnummer."""
    raw = m.group()
    if (
        raw.isdigit()
        and len(raw) == 10
        and unbroken_phone(raw)
        and national.se_pin_ok(raw)
        and label_before(text, m.start()) is None
        and not _letters_before(text, m.start(), _SWEDISH)
    ):
        return None
    return _se_pin_rule(text, m)


def accept_card(text: str, m: re.Match[str]) -> int | None:
    """Luhn and a network's prefix and length; not a business reference; a 12-14 digit run
    that is a valid barcode (EAN-13, UPC-A) is one, and the rare 1-prefixed cards (UATP,
    old JCB) need a card label."""
    digits = "".join(ch for ch in m.group() if "0" <= ch <= "9")
    if not (12 <= len(digits) <= 19 and luhn_ok(digits) and card_brand_ok(digits)):
        return None
    start = m.start()
    if not_personal(text, start):
        return None
    label = label_before(text, start)
    if label is not None and label not in ("CARD", "PHONE"):
        return None
    if label != "CARD" and (
        (len(digits) <= 14 and digits == m.group() and gs1_ok(digits))
        or digits[0] == "1"  # UATP and old JCB: rarer than a NIR
        or _GLUED.search(text, max(0, start - 2), start)
    ):
        return None  # a barcode, or the tail of a code (ORD-4111…)
    return m.end()


NATIONAL: tuple[tuple[Kind, re.Pattern[str], Accept], ...] = (
    (Kind.IN_AADHAAR, p.IN_AADHAAR, _rule(Kind.IN_AADHAAR, national.in_aadhaar_ok, True)),
    (Kind.IN_PAN, p.IN_PAN, _rule(Kind.IN_PAN, national.in_pan_ok, False)),
    (Kind.FR_NIR, p.FR_NIR, _rule(Kind.FR_NIR, national.fr_nir_ok, False)),
    (Kind.ES_DNI, p.ES_DNI, _rule(Kind.ES_DNI, national.es_dni_ok, False)),
    (Kind.ES_NIE, p.ES_NIE, _rule(Kind.ES_NIE, national.es_nie_ok, False)),
    (Kind.IT_CF, p.IT_CF, _rule(Kind.IT_CF, national.it_cf_ok, False)),
    (Kind.IT_CF, p.IT_CF_LOWER, _rule(Kind.IT_CF, national.it_cf_ok, False)),
    (Kind.NL_BSN, p.NL_BSN, _rule(Kind.NL_BSN, national.nl_bsn_ok, True)),
    (Kind.PL_PESEL, p.PL_PESEL, _rule(Kind.PL_PESEL, national.pl_pesel_ok, True)),
    (Kind.SE_PIN, p.SE_PIN, _se_pin),
    (Kind.BR_CPF, p.BR_CPF, _cpf),
)

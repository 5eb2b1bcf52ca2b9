"""When a run of digit groups is a phone number.

The patterns (PHONE_PLUS, PHONE_LOCAL) find any run of digit groups; this decides, in order:

1. 7 to 15 digits (ITU E.164 allows 15), not counting an extension;
2. not a business reference ("Order 0612 3456"), not money ("€ 12 500 000") and not a
   quantity ("+250 000 000 units");
3. not a date, a year range, a version or an address of four numbers;
4. a phone label before it ("Tel.", "mobile", "телефон") is enough, another kind's label
   ("Aadhaar", "BSN") rules a phone out; a leading ``+``
   or ``00`` with at least 8 digits, or an area code in brackets;
5. otherwise, not glued to a code ("ORD-3510-3027") and not the hours of a time, it must
   have a national shape: a trunk prefix ``0`` (most of Europe, Asia, Latin America), an
   unbroken number its numbering plan fixes in prefix and length (numbering.py: North
   American, Indian, Italian and Chinese mobiles, freephone 800 numbers), a local number of
   seven digits written 555-1234 or 816 2191, or groups of digits that are not thousands
   ("1 250 000") nor a version.
"""

from __future__ import annotations

import re

from keel.guard.pii.context import label_before, not_personal
from keel.guard.pii.numbering import unbroken_phone

__all__ = ["UNIT_WORDS", "accept_phone", "phone_pending"]

UNIT_WORDS = (
    "units|unit|pcs|pc|pieces|piece|items|item|stück|stk|stuks|pièces|unités|unidades|uds"
    "|pezzi|szt|st|kg|g|t|lb|lbs|km|m|mm|cm|l|ml|eur|usd|gbp|chf|sek|nok|dkk|pln|inr|brl|jpy"
    "|euro|euros|dollars|x|times|users|people|visitors|customers|bytes|kb|mb|gb|tb|downloads"
    "|views|votes|points|shares|copies|tickets|orders|rows|records|tokens"
)
_UNIT_AFTER = re.compile(rf" ?(?:{UNIT_WORDS}|[€$£¥₹%])(?![^\W\d_])", re.IGNORECASE)
_UNIT_PREFIXES = frozenset(w[:i] for w in UNIT_WORDS.split("|") for i in range(1, len(w)))
_PARTIAL_WORD = re.compile(r" ?([^\W\d_]{1,12})\Z")
_MONEY_BEFORE = re.compile(
    r"(?:[€$£¥₹]|(?<![^\W\d_])(?:eur|usd|gbp|chf|sek|nok|dkk|pln|inr|brl|jpy|rs|r\$)\.?) ?\Z",
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"(?:x| ?(?:ext\.?|x) ?)[0-9]{1,6}\Z")
_GROUP = re.compile(r"[0-9]+")
_DATE = re.compile(r"[0-9]{1,2}([./\-])[0-9]{1,2}\1[0-9]{4}|[0-9]{4}([./\-])[0-9]{1,2}\2[0-9]{1,2}")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{1,2}")
_SSN_SHAPE = re.compile(r"[0-9]{3}([ \-])[0-9]{2}\1[0-9]{4}")
_YEARS = re.compile(r"(?:(?:19|20)[0-9]{2}[ \-/]?){2,}")
_DOTTED_QUAD = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(?:([ .])[0-9]{3})(?:\1[0-9]{3})*")
_NOT_PHONES = (_DATE, _YEARS, _DOTTED_QUAD, _SSN_SHAPE, _DATE_TIME)
# Right after a code ("ORD-3510-3027", "NL12 ZJIJ 9717 3652 44"): part of that code.
CODE_BEFORE = re.compile(r"(?:[A-Z0-9]*[A-Z][A-Z0-9]*[ ]|[0-9A-Za-z][\-/#])\Z")
_BEFORE_UNIT = 14  # how far past a match a unit word may still be arriving in a stream


def accept_phone(text: str, m: re.Match[str]) -> int | None:
    """The phone's end, or None when the digits are something else."""
    raw = m.group()
    core = _EXTENSION.sub("", raw)
    digits = "".join(ch for ch in core if "0" <= ch <= "9")
    if not 7 <= len(digits) <= 15:
        return None
    start = m.start()
    if not_personal(text, start) or _MONEY_BEFORE.search(text, max(0, start - 5), start):
        return None
    if _unit_after(text, m.end()) is not False:
        return None
    if any(shape.fullmatch(core) for shape in _NOT_PHONES):
        return None
    label = label_before(text, start)
    if label == "PHONE":
        return m.end()
    if label is not None:
        return None  # "Aadhaar: 4992 1837 4604" is a (mistyped) Aadhaar, not a phone
    if CODE_BEFORE.search(text, max(0, start - 16), start) or text.startswith(":", m.end()):
        return None  # glued to a code, or the hours of a time
    if raw[0] == "+" or "(" in core or (raw.startswith("00") and not raw.isdigit()):
        return m.end() if len(digits) >= 8 and not digits.startswith("000") else None
    return m.end() if _national_shape(core, digits) else None


def phone_pending(text: str, m: re.Match[str]) -> bool:
    """A word after the number is still arriving and could make it a quantity."""
    return _unit_after(text, m.end()) is None


def _unit_after(text: str, end: int) -> bool | None:
    """True: a unit or currency follows. None: a word that could become one reaches the end
    of the text (a stream waits for it). False: neither."""
    unit = _UNIT_AFTER.match(text, end)
    if unit:
        return True if unit.end() < len(text) else None  # "t" may be the start of "the"
    partial = _PARTIAL_WORD.match(text, end, end + _BEFORE_UNIT)
    if partial and partial.end() == len(text) and partial.group(1).lower() in _UNIT_PREFIXES:
        return None
    return False


def _national_shape(core: str, digits: str) -> bool:
    n = len(digits)
    groups = _GROUP.findall(core)
    if len(groups) > 1 and len(groups[-1]) == 1:
        return False  # a check digit or a suffix glued on: 555-123-4567-8
    if len(groups) == 1:  # unbroken: a trunk 0, "00" and a country code, a plan's mobile
        return unbroken_phone(digits)
    if digits[0] == "0":
        return 8 <= n <= 13
    if "." in core and min(len(g) for g in groups) < 2:
        return False  # a version (10.0.2658.122) or a decimal
    if n == 7:  # a local number: 555-1234, 115-24-49, 816 2191 (no plan's starts with 0 or 1)
        shape = [len(g) for g in groups]
        return shape in ([3, 4], [3, 2, 2]) and ("-" in core or (" " in core and core[0] > "1"))
    if _THOUSANDS.fullmatch(core) and (len(groups[0]) < 3 or len(groups) > 3):
        return False  # 1 250 000, 51 683 924 031
    return n <= 12

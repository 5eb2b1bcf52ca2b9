"""Dates of birth: a real calendar date with "born", "DOB", "geboren", "né(e)" close to it.

A date alone is not personal data (invoices, meetings and timestamps are full of them), so
the context decides: a birth word at most ``BEFORE`` characters before the date, or at most
``AFTER`` characters after it ("am 12.03.1980 geboren"), in the same sentence and with no
other number in between.
"""

from __future__ import annotations

import datetime
import re

from keel.guard.pii.patterns import DOB_CONTEXT

__all__ = ["AFTER", "BEFORE", "MONTH_NUMBERS", "accept_dob", "birth_words", "dob_pending"]

BEFORE = 32
AFTER = 24
# Between a birth word and its date: no number, no end of a sentence (a line break is fine:
# forms put "Date of birth:" above the value).
_APART = re.compile(r"[0-9]|[.!?][ \t]")
_THIS_YEAR = datetime.date.today().year
# Lower-case pieces of every DOB_CONTEXT alternative (birth covers birthday, date of birth).
_BIRTH_WORDS = ("born", "birth", "dob", "d.o.b", "geb", "né", "naissance")
_NUMERIC = re.compile(r"([0-9]{1,2})[./\-]([0-9]{1,2})[./\-]([0-9]{4})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DAY_MONTH = re.compile(r"([0-9]{1,2})[^\W\d]*\.? ([^\W\d_]+)\.?,? ([0-9]{4})")
_MONTH_DAY = re.compile(r"([^\W\d_]+)\.? ([0-9]{1,2})[^\W\d]*,? ([0-9]{4})")

MONTH_NUMBERS = {
    **dict.fromkeys(("january", "jan", "januar", "jänner", "janvier"), 1),
    **dict.fromkeys(("february", "feb", "februar", "février", "fevrier"), 2),
    **dict.fromkeys(("march", "mar", "märz", "maerz", "mars"), 3),
    **dict.fromkeys(("april", "apr", "avril"), 4),
    **dict.fromkeys(("may", "mai"), 5),
    **dict.fromkeys(("june", "jun", "juni", "juin"), 6),
    **dict.fromkeys(("july", "jul", "juli", "juillet"), 7),
    **dict.fromkeys(("august", "aug", "août", "aout"), 8),
    **dict.fromkeys(("september", "sep", "sept", "septembre"), 9),
    **dict.fromkeys(("october", "oct", "oktober", "octobre"), 10),
    **dict.fromkeys(("november", "nov", "novembre"), 11),
    **dict.fromkeys(("december", "dec", "dezember", "décembre", "decembre"), 12),
}


def accept_dob(text: str, m: re.Match[str]) -> int | None:
    """The end of a date of birth matched by a date pattern, or None for any other date."""
    if not real_date(m.group()):
        return None
    if _context_before(text, m.start()) or _context_after(text, m.end()):
        return m.end()
    return None


def dob_pending(text: str, m: re.Match[str]) -> bool:
    """A date whose following words, which could make it a date of birth, are not all in."""
    end = m.end()
    return end + AFTER > len(text) and real_date(m.group()) and not _context_before(text, m.start())


def birth_words(text: str) -> bool:
    """Could ``DOB_CONTEXT`` match anywhere in ``text``? A cheap test before the date scan."""
    lower = text.lower()
    return any(word in lower for word in _BIRTH_WORDS)


def _context_before(text: str, start: int) -> bool:
    last = None
    for last in DOB_CONTEXT.finditer(text, max(0, start - BEFORE), start):  # noqa: B007
        pass
    return last is not None and not _APART.search(text, last.end(), start)


def _context_after(text: str, end: int) -> bool:
    m = DOB_CONTEXT.search(text, end, end + AFTER)
    return m is not None and not _APART.search(text, end, m.start())


def real_date(text: str) -> bool:
    """A calendar date between 1900 and this year, day or month first where ambiguous."""
    if m := _NUMERIC.fullmatch(text):
        first, second, y = int(m[1]), int(m[2]), int(m[3])
        return _is_date(y, second, first) or _is_date(y, first, second)
    if m := _ISO.fullmatch(text):
        return _is_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _DAY_MONTH.fullmatch(text):
        day, name, year = m[1], m[2], m[3]
    elif m := _MONTH_DAY.fullmatch(text):
        name, day, year = m[1], m[2], m[3]
    else:
        return False
    month = MONTH_NUMBERS.get(name.lower())
    return month is not None and _is_date(int(year), month, int(day))


def _is_date(year: int, month: int, day: int) -> bool:
    if not 1900 <= year <= _THIS_YEAR:
        return False
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True

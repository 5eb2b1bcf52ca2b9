"""The regular expressions behind the detectors, compiled once at import.

Two rules every pattern keeps, because the stream guard (stream.py) relies on them:

- Inside a match, whitespace is a single ASCII space, and a token (a run between spaces)
  that a match spans whole is "number-like": digits, capitals and ``+()./:,-``, a month
  name or an ordinal such as ``12th`` (see ``GROUP_TOKEN``). Lower-case words never sit
  inside a match: only a single token (an e-mail address, an IPv6 address) can hold them.
- Context is read only to the left (a lookbehind, or the words before a date of birth) and
  lookaheads see at most two characters past a match.

Digits are ``[0-9]``, not ``\\d``: other scripts' digits would pass ``\\d`` and then fail
the checksums in surprising ways.
"""

from __future__ import annotations

import re

__all__ = [
    "CARD",
    "DATE_MONTH_FIRST",
    "DATE_NUMERIC",
    "DE_TAX_ID",
    "DOB_CONTEXT",
    "EMAIL",
    "GROUP_TOKEN",
    "IBAN",
    "IPV4",
    "IPV6",
    "PHONE_NUMBER",
    "PHONE_PAREN",
    "PHONE_PLUS",
    "SSN_CONTEXT",
    "TRIGGER",
    "UK_NI",
    "US_SSN",
    "US_SSN_PLAIN",
    "VERSION_BEFORE",
]

# Each pattern starts with a character class or a literal, so the regex engine skips ahead
# to the next character that can start a match instead of trying every position; the
# "not glued on the left" lookbehinds therefore come after that first character and
# include it.
_WORDLIKE = "[0-9A-Za-z_]"
_DIGIT_GROUP = r"[0-9][ .\-/]"  # "12 ", "12-": the end of another number


def _start(first: str, *not_after: str) -> str:
    """``first``, which must not follow any of ``not_after``."""
    return first + "".join(f"(?<!{before}{first})" for before in not_after)


_DIGIT_START = _start("[0-9]", _WORDLIKE, _DIGIT_GROUP)
# Not followed by a letter or digit, nor by another digit group.
_RIGHT = r"(?![0-9A-Za-z_])(?![ .\-/][0-9])"

# Text without a digit or an '@' cannot hold any entity these patterns find (an IPv6 address
# spelt only in letters, "dead:beef::cafe", is the one exception, accepted).
TRIGGER = re.compile(r"[0-9@]")

EMAIL = re.compile(
    _start("[A-Za-z0-9]", r"[A-Za-z0-9._%+\-]")
    + r"[A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9\-@]|\.[A-Za-z0-9])"
)

# Phones, by first character. A leading '+' is a strong enough start to follow another
# number ("Room 12 +44 ..."); possessive digit groups split a long run one way only.
PHONE_PLUS = re.compile(
    _start(r"\+", "[0-9A-Za-z_+]")
    + r"[1-9][0-9]{0,2}(?: ?\(0\))?(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,5}+)){1,6}"
    + _RIGHT
)
PHONE_PAREN = re.compile(  # (555) 123-4567, (030) 1234567
    _start(r"\(", "[0-9A-Za-z_+]", _DIGIT_GROUP)
    + r"(?:[2-9][0-9]{2}\) ?[0-9]{3}[ .\-][0-9]{4}|0[1-9][0-9]{1,4}\) ?[0-9]{5,8})"
    + _RIGHT
)
_US = (  # after the first digit: 555-123-4567, 555.123.4567, 1-800-555-0199
    r"(?<=[2-9])[0-9]{2}[ .\-][0-9]{3}[ .\-][0-9]{4}"
    r"|(?<=1)[ .\-](?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .\-])[0-9]{3}[ .\-][0-9]{4}"
)
_ZERO = (  # after a leading 0
    r"[0-9]{2}[ \-][0-9]{4}[ \-][0-9]{4}"  # UK 020 7946 0958
    r"|[0-9]{3}[ \-][0-9]{3}[ \-][0-9]{4}"  # UK 0161 496 0000
    r"|[0-9]{4}[ \-][0-9]{3}[ \-]?[0-9]{3}"  # UK 07700 900123, 07700 900 123
    r"|[1-9][0-9]{1,4}[ /\-][0-9]{5,8}"  # DE 030 1234567, 0151 23456789, 089/12345678
    r"|[1-9](?:[ .\-][0-9]{2}){4}"  # FR 01 23 45 67 89
    # '00' for '+' ("0049 30 1234567"), only with separators: "00491..." alone is a number.
    r"|0[1-9][0-9]{0,2}(?:[ .\-](?:\([0-9]{1,4}\)|[0-9]{1,10}+)){1,6}"
)
PHONE_NUMBER = re.compile(
    _start("[0-9]", "[0-9A-Za-z_+]", _DIGIT_GROUP) + f"(?:{_US}|(?<=0)(?:{_ZERO})){_RIGHT}"
)

# Unbroken, or in the groups cards are printed in (4-4-4-4[-3], 4-4-4-1, Amex 4-6-5, Diners
# 4-6-4) with one separator throughout: "1980 1980-03-12" is no card number.
CARD = re.compile(
    _DIGIT_START + r"(?:[0-9]{11,18}"
    r"|[0-9]{3}(?P<s>[ \-])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4}(?:(?P=s)[0-9]{3})?"
    r"|[0-9]{3}(?P<t>[ \-])[0-9]{6}(?P=t)[0-9]{4,5})" + _RIGHT
)
US_SSN = re.compile(_DIGIT_START + r"[0-9]{2}([ \-])[0-9]{2}\1[0-9]{4}" + _RIGHT)
# Nine digits in a row are an SSN only when "SSN" or "social security" stands just before.
US_SSN_PLAIN = re.compile(_DIGIT_START + "[0-9]{8}" + _RIGHT)
SSN_CONTEXT = re.compile(r"(?<![A-Za-z])(?:ssn|ss#|social security(?: number| no\.?)?)", re.I)
DE_TAX_ID = re.compile(_start("[1-9]", _WORDLIKE, _DIGIT_GROUP) + "[0-9](?: ?[0-9]{3}){3}" + _RIGHT)
UK_NI = re.compile(
    _start("[A-Z]", _WORDLIKE) + "[A-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Z](?![0-9A-Za-z_])"
)
IBAN = re.compile(
    _start("[A-Z]", _WORDLIKE)
    + "[A-Z][0-9]{2}(?: ?[0-9A-Z]{4}){2,7}(?: ?[0-9A-Z]{1,3})?(?![0-9A-Za-z_])"
)
IPV4 = re.compile(
    _start("[0-9]", "[0-9A-Za-z_.]")
    + r"[0-9]{0,2}\.(?:[0-9]{1,3}\.){2}[0-9]{1,3}(?![0-9A-Za-z_]|\.[0-9])"
)
# "version 1.2.3.4", "v10.0.0.1": four numbers that read as a version, not an address.
VERSION_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:version|release|build|ver\.?|v)[ :]?\Z", re.IGNORECASE
)
IPV6 = re.compile(
    r"(?<![0-9A-Za-z_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{1,4})?(?![0-9A-Za-z_:]|\.[0-9])"
)

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
    "|januar|februar|märz|maerz|mai|juni|juli|oktober|dezember|jänner"
    "|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre"
    "|décembre|decembre"
)
_YEAR = "(?:19|20)[0-9]{2}"
_DATE_RIGHT = r"(?![0-9A-Za-z_])(?![.\-/][0-9])"
# Dates, by first character; dates.py reads the day, month and year out of the text.
DATE_NUMERIC = re.compile(
    _start("[0-9]", _WORDLIKE, r"[0-9][.\-/]") + "(?:"
    rf"[0-9]?([./\-])[0-9]{{1,2}}\1{_YEAR}"  # 12.03.1980, 3/12/1980, 12-03-1980
    r"|[0-9]{3}-[01][0-9]-[0-3][0-9]"  # 1980-03-12
    rf"|[0-9]?(?i:st|nd|rd|th|er|\.)? (?i:{_MONTHS})\.?,? {_YEAR}"  # 12 March 1980, 1er mars
    f"){_DATE_RIGHT}"
)


def _months_after_first_letter() -> str:
    """The month names with their first letter already matched: ``(?<=[Mm])(?i:arch|ar|…)``."""
    rests: dict[str, list[str]] = {}
    for name in _MONTHS.split("|"):
        rests.setdefault(name[0], []).append(name[1:])
    return "|".join(
        f"(?<=[{first.upper()}{first}])(?i:{'|'.join(sorted(rest, key=len, reverse=True))})"
        for first, rest in sorted(rests.items())
    )


_MONTH_INITIALS = "".join(sorted({m[0] for m in _MONTHS.split("|")}))
DATE_MONTH_FIRST = re.compile(  # March 12, 1980
    _start(f"[{_MONTH_INITIALS.upper()}{_MONTH_INITIALS}]", _WORDLIKE)
    + f"(?:{_months_after_first_letter()})"
    + rf"\.? [0-3]?[0-9](?i:st|nd|rd|th)?,? {_YEAR}{_DATE_RIGHT}"
)
# Words that make a date a date of birth when they come shortly before it.
DOB_CONTEXT = re.compile(
    r"(?<![^\W\d_])(?:born|dob|d\.o\.b\.?|date of birth|birth ?date|birthday|geboren|geb\."
    r"|geburtsdatum|geburtstag|née?|date de naissance)(?![^\W\d_])",
    re.IGNORECASE,
)

# A whole token that may sit inside a multi-token match (see the module docstring).
GROUP_TOKEN = re.compile(
    rf"[0-9A-Z+().,/:\-]+|[0-9]{{1,2}}(?:st|nd|rd|th|er)[.,]?|(?i:{_MONTHS})[.,]{{0,2}}"
)

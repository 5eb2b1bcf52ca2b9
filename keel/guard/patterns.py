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
    "DATE",
    "DE_TAX_ID",
    "DOB_CONTEXT",
    "EMAIL",
    "GROUP_TOKEN",
    "IBAN",
    "IPV4",
    "IPV6",
    "PHONE",
    "TRIGGER",
    "UK_NI",
    "US_SSN",
    "VERSION_BEFORE",
]

# Not glued to a letter or digit on the left, nor to a digit group ("12 " or "12-").
_LEFT = r"(?<![0-9A-Za-z_])(?<![0-9][ .\-/])"
# Not followed by a letter or digit, nor by another digit group.
_RIGHT = r"(?![0-9A-Za-z_])(?![ .\-/][0-9])"

# Text without a digit or an '@' cannot hold any entity these patterns find (an IPv6 address
# spelt only in letters, "dead:beef::cafe", is the one exception, accepted).
TRIGGER = re.compile(r"[0-9@]")

EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}"
    r"@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9\-@]|\.[A-Za-z0-9])"
)

# Possessive digit groups: a long run after '+' is split one way only, never backtracked.
_INTL = r"\+[1-9][0-9]{0,2}(?: ?\(0\))?(?:[ .\-]?(?:\([0-9]{1,4}\)|[0-9]{1,5}+)){1,6}"
_US = r"(?:1[ .\-])?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .\-])[0-9]{3}[ .\-][0-9]{4}"
_UK = (
    r"0[0-9]{2}[ \-][0-9]{4}[ \-][0-9]{4}"  # 020 7946 0958
    r"|0[0-9]{3}[ \-][0-9]{3}[ \-][0-9]{4}"  # 0161 496 0000
    r"|0[0-9]{4}[ \-][0-9]{3}[ \-]?[0-9]{3}"  # 07700 900123, 07700 900 123
)
_DE = r"0[1-9][0-9]{1,4}[ /\-][0-9]{5,8}"  # 030 1234567, 0151 23456789, 089/12345678
_FR = r"0[1-9](?:[ .\-][0-9]{2}){4}"  # 01 23 45 67 89
# A leading '+' is a strong enough start to follow another number ("Room 12 +44 ...").
PHONE = re.compile(
    rf"(?<![0-9A-Za-z_+])(?:{_INTL}|(?<![0-9][ .\-/])(?:{_US}|{_UK}|{_DE}|{_FR})){_RIGHT}"
)

# Unbroken, or in the groups cards are printed in (4-4-4-4[-3], 4-4-4-1, Amex 4-6-5, Diners
# 4-6-4) with one separator throughout: "1980 1980-03-12" is no card number.
CARD = re.compile(
    rf"{_LEFT}(?:[0-9]{{12,19}}"
    r"|[0-9]{4}(?P<s>[ \-])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4}(?:(?P=s)[0-9]{3})?"
    rf"|[0-9]{{4}}(?P<t>[ \-])[0-9]{{6}}(?P=t)[0-9]{{4,5}}){_RIGHT}"
)
US_SSN = re.compile(rf"{_LEFT}[0-9]{{3}}([ \-])[0-9]{{2}}\1[0-9]{{4}}{_RIGHT}")
DE_TAX_ID = re.compile(rf"{_LEFT}[1-9][0-9](?: ?[0-9]{{3}}){{3}}{_RIGHT}")
UK_NI = re.compile(
    r"(?<![0-9A-Za-z_])[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Z](?![0-9A-Za-z_])"
)
IBAN = re.compile(
    r"(?<![0-9A-Za-z_])[A-Z]{2}[0-9]{2}(?: ?[0-9A-Z]{4}){2,7}(?: ?[0-9A-Z]{1,3})?"
    r"(?![0-9A-Za-z_])"
)
IPV4 = re.compile(r"(?<![0-9A-Za-z_.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9A-Za-z_]|\.[0-9])")
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
_DAY = r"[0-3]?[0-9]"
_YEAR = r"(?:19|20)[0-9]{2}"
DATE = re.compile(
    rf"(?<![0-9A-Za-z_])(?<![0-9][.\-/])(?:"
    rf"(?P<d1>{_DAY})(?P<sep>[./\-])(?P<m1>[01]?[0-9])(?P=sep)(?P<y1>{_YEAR})"
    rf"|(?P<y2>{_YEAR})-(?P<m2>[01][0-9])-(?P<d2>[0-3][0-9])"
    rf"|(?P<d3>{_DAY})(?:st|nd|rd|th|er|\.)? (?P<m3>{_MONTHS})\.?,? (?P<y3>{_YEAR})"
    rf"|(?P<m4>{_MONTHS})\.? (?P<d4>{_DAY})(?:st|nd|rd|th)?,? (?P<y4>{_YEAR})"
    rf")(?![0-9A-Za-z_])(?![.\-/][0-9])",
    re.IGNORECASE,
)
# Words that make a date a date of birth when they come shortly before it.
DOB_CONTEXT = re.compile(
    r"(?<![^\W\d_])(?:born|dob|d\.o\.b|date of birth|birth ?date|birthday|geboren|geb\."
    r"|geburtsdatum|geburtstag|née?|date de naissance)(?![^\W\d_])",
    re.IGNORECASE,
)

# A whole token that may sit inside a multi-token match (see the module docstring).
GROUP_TOKEN = re.compile(
    rf"[0-9A-Z+().,/:\-]+|[0-9]{{1,2}}(?:st|nd|rd|th|er)[.,]?|(?i:{_MONTHS})[.,]{{0,2}}"
)

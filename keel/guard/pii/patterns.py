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
    "BR_CPF",
    "CARD",
    "DATE_MONTH_FIRST",
    "DATE_NUMERIC",
    "DE_TAX_ID",
    "DOB_CONTEXT",
    "EMAIL",
    "ES_DNI",
    "ES_NIE",
    "FR_NIR",
    "GROUP_TOKEN",
    "IBAN",
    "IBAN_LOWER",
    "IN_AADHAAR",
    "IN_PAN",
    "IPV4",
    "IPV6",
    "IT_CF",
    "IT_CF_LOWER",
    "LOWER_CODE",
    "NL_BSN",
    "PHONE_LOCAL",
    "PHONE_PLUS",
    "PL_PESEL",
    "SEED",
    "SE_PIN",
    "SSN_CONTEXT",
    "TRIGGER",
    "UK_NI",
    "UK_NI_LOWER",
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
# Where the digit patterns are worth running: four digits or more with at most two
# separators between them ("+49 151", "DE89 3704", "1980", "10.0.0.1", "12 34 56"), or a
# short run glued to letters on both sides (a codice fiscale's "A85T"). Every pattern but
# EMAIL and IPV6 finds its entities within 20 characters of one such seed (an IBAN's
# letters, "September 12th, " before a year, an extension after a phone).
SEED = re.compile(r"[0-9](?:(?:[ .\-/()+]{0,2}[0-9]){3,}|(?<=[A-Za-z][0-9])[0-9]{0,2}(?=[A-Za-z]))")

# Internationalised addresses too (RFC 6531): Unicode letters and the combining marks of
# Indic, Thai, Hebrew and Arabic scripts in the local part and in the domain (IDN); the
# top-level domain is letters or its ASCII form ("xn--p1ai").
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
_MARKS += "\u0900-\u0dff\u0e00-\u0eff\u1000-\u109f\u3099\u309a"
_LOCAL_CHAR = f"[\\w{_MARKS}.%+\\-!#$&'*/=?^{{|}}~]"
_LABEL_CHAR = f"[^\\W_]|[{_MARKS}]"
_DOMAIN_LABEL = f"(?:{_LABEL_CHAR})(?:(?:{_LABEL_CHAR}|-){{0,61}}(?:{_LABEL_CHAR}))?"
EMAIL = re.compile(
    f"[\\w{_MARKS}](?<![\\w{_MARKS}.%+\\-][\\w{_MARKS}])"
    + f"{_LOCAL_CHAR}{{0,63}}@{_DOMAIN_LABEL}(?:\\.{_DOMAIN_LABEL})*"
    + f"\\.(?:(?:[^\\W\\d_]|[{_MARKS}]){{2,24}}|xn--[a-z0-9\\-]{{2,59}})"
    + f"(?!{_LABEL_CHAR}|[\\-@]|\\.(?:{_LABEL_CHAR}))"
)

# Phones, by first character. A leading '+' is a strong enough start to follow another
# number ("Room 12 +44 ..."); possessive digit groups split a long run one way only. What
# the digits must look like to be a phone (count, national shapes, context) is phones.py's.
# An extension may follow: "x05756" glued on, or " ext. 12" (the one lower-case word a
# multi-token match may hold).
_EXTENSION = r"(?:x[0-9]{1,6}| ?(?:ext\.?|x) ?[0-9]{1,6})?"
PHONE_PLUS = re.compile(
    _start(r"[+(]", "[0-9A-Za-z_+]")
    + r"(?:(?<=\+)[1-9][0-9]{0,2}|(?<=\+)\([1-9][0-9]{0,2}\)|(?<=\()\+[1-9][0-9]{0,2}\))"
    + r"(?: ?\(0\))?"  # +44, +(370), (+57); +44 (0)
    + r"(?:[ .\-/]?(?:\([0-9]{1,5}\)|[0-9]{1,5}+)){1,6}"
    + _EXTENSION
    + _RIGHT
)
# National formats: groups of digits, one separator between, an area code in brackets.
PHONE_LOCAL = re.compile(
    _start("[0-9(]", "[0-9A-Za-z_+.:]", _DIGIT_GROUP)
    + r"(?:(?:(?<=\()[0-9]{1,5}\)|(?<=[0-9])[0-9]{0,4}+)"  # a first group, then more
    + r"(?:[ .\-/]?(?:\([0-9]{1,5}\)|[0-9]{1,12}+)){1,6}"
    + r"|(?<=[0-9])[0-9]{6,13}+)"  # or unbroken
    + _EXTENSION
    + _RIGHT
)

# Unbroken, or a first group of 4 (or 6) digits and two to five groups after it (one if
# it is long), a space, dash
# or dot between (4-4-4-4[-3], Amex 4-6-5, Diners 4-6-4, 4-4-8, 6-10 …); the checks say
# whether it is a card.
CARD = re.compile(
    _DIGIT_START
    + r"(?:[0-9]{11,18}|[0-9]{3}(?:[0-9]{2})?(?:[ .\-][0-9]{8,15}|(?:[ .\-][0-9]{1,12}){2,5}))"
    + _RIGHT
)
US_SSN = re.compile(_DIGIT_START + r"[0-9]{2}([ \-])[0-9]{2}\1[0-9]{4}" + _RIGHT)
# Nine digits in a row are an SSN only when "SSN" or "social security" stands just before.
US_SSN_PLAIN = re.compile(_DIGIT_START + "[0-9]{8}" + _RIGHT)
SSN_CONTEXT = re.compile(r"(?<![A-Za-z])(?:ssn|ss#|social security(?: number| no\.?)?)", re.I)
DE_TAX_ID = re.compile(_start("[1-9]", _WORDLIKE, _DIGIT_GROUP) + "[0-9](?: ?[0-9]{3}){3}" + _RIGHT)
UK_NI = re.compile(  # AB 12 34 56 C, AB123456C
    _start("[A-Z]", _WORDLIKE) + "[A-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Z](?![0-9A-Za-z_])"
)
UK_NI_LOWER = re.compile(_start("[a-z]", _WORDLIKE) + "[a-z][0-9]{6}[a-z](?![0-9A-Za-z_])")
# National identifiers (national.py has their rules; context.py their labels).
IN_AADHAAR = re.compile(_DIGIT_START + r"[0-9]{3}([ \-]?)[0-9]{4}\1[0-9]{4}" + _RIGHT)
IN_PAN = re.compile(
    _start("[A-Z]", _WORDLIKE) + "[A-Z]{2}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z](?![0-9A-Za-z_])"
)
FR_NIR = re.compile(  # 1 85 05 78 006 084 36, Corsica 2A/2B
    _start("[1-478]", _WORDLIKE, _DIGIT_GROUP)
    + " ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}"
    + _RIGHT
)
ES_DNI = re.compile(  # 12345678Z, 12345678-Z, 12.345.678-Z
    _DIGIT_START + r"[0-9](?:[0-9]{6}|\.[0-9]{3}\.[0-9]{3})(?:-?[A-Za-z]| [A-Z])(?![0-9A-Za-z_])"
)
ES_NIE = re.compile(  # X1234567L, Y-1234567-X
    _start("[XYZxyz]", _WORDLIKE) + r"[ \-]?[0-9]{7}(?:-?[A-Za-z]| [A-Z])(?![0-9A-Za-z_])"
)
_CF_DIGIT = "[0-9LMNPQRSTUV]"  # omocodia: letters standing for digits
_CF = f"[A-Z]{{5}}{_CF_DIGIT}{{2}}[ABCDEHLMPRST]{_CF_DIGIT}{{2}}[A-Z]{_CF_DIGIT}{{3}}[A-Z]"
IT_CF = re.compile(_start("[A-Z]", _WORDLIKE) + _CF + "(?![0-9A-Za-z_])")  # RSSMRA85T10A562S
IT_CF_LOWER = re.compile(_start("[a-z]", _WORDLIKE) + f"(?i:{_CF})(?![0-9A-Za-z_])")
NL_BSN = re.compile(_DIGIT_START + r"(?:[0-9]{8}|[0-9]{3}\.[0-9]{2}\.[0-9]{3})" + _RIGHT)
PL_PESEL = re.compile(_DIGIT_START + "[0-9]{10}" + _RIGHT)
SE_PIN = re.compile(  # 850709-9805, 19850709-9805, 850709+9805 (over 100), 8507099805
    _DIGIT_START + r"(?:[0-9]{7}|[0-9]{5})[\-+]?[0-9]{4}" + _RIGHT
)
BR_CPF = re.compile(  # 123.456.789-09, 12345678909
    _DIGIT_START + r"(?:[0-9]{2}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}|[0-9]{10})" + _RIGHT
)
# Unbroken or in groups of four; in capitals, or (IBAN_LOWER) in lower case.
_IBAN_REST = "[0-9]{2}(?: ?[0-9A-Za-z]{4}){2,8}(?: ?[0-9A-Za-z]{1,3})?(?![0-9A-Za-z_])"
IBAN = re.compile(_start("[A-Z]", _WORDLIKE) + "[A-Z]" + _IBAN_REST)
IBAN_LOWER = re.compile(_start("[a-z]", _WORDLIKE) + "[a-z]" + _IBAN_REST)
# Lower-case codes are rare in prose: the lower-case patterns run only where this matches.
LOWER_CODE = re.compile("[a-z][0-9]{2}")
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

"""Validity rules of national identifiers; each takes the value with separators removed.

Every rule below is the issuer's published one (check digit, letter or date inside the id);
a look-alike that fails it is no match.
"""

from __future__ import annotations

import datetime

from keel.guard.pii.checks import luhn_ok
from keel.guard.pii.checksums import elevenproof_ok, verhoeff_ok

__all__ = [
    "br_cpf_ok",
    "es_dni_ok",
    "es_nie_ok",
    "fr_nir_ok",
    "in_aadhaar_ok",
    "in_pan_ok",
    "it_cf_ok",
    "nl_bsn_ok",
    "pl_pesel_ok",
    "se_pin_ok",
]

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
# Codice fiscale: the value of each character in an odd (1st, 3rd, …) position.
_CF_ODD_VALUES = "1 0 5 7 9 13 15 17 19 21 2 4 18 20 11 3 6 8 12 14 16 10 22 25 24 23"
_CF_ODD = {
    ch: int(v)
    for ch, v in zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        ["1", "0", "5", "7", "9", "13", "15", "17", "19", "21", *_CF_ODD_VALUES.split()],
        strict=True,
    )
}
# Omocodia: where two people share a code, digits are replaced by these letters.
_CF_DIGIT_LETTERS = "LMNPQRSTUV"
_PAN_HOLDERS = frozenset("ABCFGHJLPT")  # the fourth letter: person, company, trust, …


def in_aadhaar_ok(digits: str) -> bool:
    """12 digits, not starting with 0, Verhoeff check digit."""
    return len(digits) == 12 and digits[0] != "0" and verhoeff_ok(digits)


def in_pan_ok(pan: str) -> bool:
    """AAAPL1234C: five letters (the fourth says who holds it), four digits, a letter."""
    return (
        len(pan) == 10
        and pan[:5].isalpha()
        and pan[5:9].isdigit()
        and pan[9].isalpha()
        and pan[3] in _PAN_HOLDERS
    )


def fr_nir_ok(nir: str) -> bool:
    """Sex, year, month, département (2A/2B for Corsica), commune, order; key = 97 - n mod 97."""
    if len(nir) != 15 or nir[0] not in "12378":
        return False
    body = nir[:13].replace("2A", "19", 1).replace("2B", "18", 1)
    if not body.isdigit() or not nir[13:].isdigit():
        return False
    month = int(nir[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 99):  # 20+: month unknown at registration
        return False
    return 97 - int(body) % 97 == int(nir[13:])


def es_dni_ok(dni: str) -> bool:
    """Eight digits and the letter of their remainder mod 23."""
    return len(dni) == 9 and dni[:8].isdigit() and dni[8] == _DNI_LETTERS[int(dni[:8]) % 23]


def es_nie_ok(nie: str) -> bool:
    """X, Y or Z (read as 0, 1, 2), seven digits, and the DNI letter of that number."""
    if len(nie) != 9 or nie[0] not in "XYZ":
        return False
    return es_dni_ok(str("XYZ".index(nie[0])) + nie[1:])


def it_cf_ok(cf: str) -> bool:
    """16 characters; the last is the check letter of the first fifteen (odd/even tables)."""
    if len(cf) != 16 or not cf.isalnum() or not cf.isascii():
        return False
    cf = cf.upper()
    total = 0
    for i, ch in enumerate(cf[:15]):
        if i % 2 == 0:
            total += _CF_ODD[ch]
        else:
            total += int(ch) if ch.isdigit() else ord(ch) - 65
    return chr(65 + total % 26) == cf[15]


def nl_bsn_ok(digits: str) -> bool:
    """Nine digits (eight with a 0 in front), the 11-proof, not all zeros."""
    return len(digits) == 9 and digits != "000000000" and elevenproof_ok(digits)


def pl_pesel_ok(digits: str) -> bool:
    """YYMMDD (the century in the month: +20 for 2000s, +80 for 1800s), serial, check digit."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    check = (10 - sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 10) % 10
    if check != int(digits[10]):
        return False
    yy, mm, dd = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    century = {0: 1900, 1: 2000, 4: 1800}.get(mm // 20)
    return century is not None and _is_date(century + yy, mm % 20, dd)


def se_pin_ok(digits: str) -> bool:
    """Personnummer: [YY]YYMMDDNNNC, Luhn over the last ten; a day + 60 is a
    samordningsnummer (for people not registered in Sweden)."""
    if len(digits) == 12:
        if digits[:2] not in ("18", "19", "20"):
            return False
        digits = digits[2:]
    if len(digits) != 10 or not luhn_ok(digits):
        return False
    mm, dd = int(digits[2:4]), int(digits[4:6])
    return _is_date(2000 + int(digits[:2]), mm, dd - 60 if dd > 60 else dd)


def br_cpf_ok(digits: str) -> bool:
    """Eleven digits, the last two check the first nine, not one digit repeated."""
    if len(digits) != 11 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    nums = [int(d) for d in digits]
    for n in (9, 10):
        total = sum(d * (n + 1 - i) for i, d in enumerate(nums[:n]))
        if total * 10 % 11 % 10 != nums[n]:
            return False
    return True


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True

"""Check-digit algorithms by name: the built-in national ids use them, and so may a custom
recogniser in config (``checksum: verhoeff``).

Each takes the value with separators removed. Digits-only algorithms answer False for
anything else, so a recogniser's regex may match letters without the check raising.
"""

from __future__ import annotations

from collections.abc import Callable

from keel.guard.pii.checks import luhn_ok

__all__ = [
    "CHECKSUMS",
    "elevenproof_ok",
    "gs1_ok",
    "mod11_10_ok",
    "mod11_ok",
    "mod97_ok",
    "verhoeff_ok",
]

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def verhoeff_ok(value: str) -> bool:
    """The dihedral-group check digit (India's Aadhaar): catches every swap of neighbours."""
    if not _digits(value):
        return False
    c = 0
    for i, ch in enumerate(reversed(value)):
        c = _D[c][_P[i % 8][ord(ch) - 48]]
    return c == 0


def mod97_ok(value: str) -> bool:
    """ISO 7064 MOD 97-10 over the whole value (letters count as 10..35): remainder 1."""
    if not value.isascii() or not value.isalnum():
        return False
    return int("".join(str(int(ch, 36)) for ch in value)) % 97 == 1


def mod11_ok(value: str) -> bool:
    """The last digit checks the others, weights 2, 3, …, 7 repeating from the right;
    a remainder giving 10 is never valid (the common "modulus 11" of account numbers)."""
    if not _digits(value) or len(value) < 2:
        return False
    body, check = value[:-1], int(value[-1])
    total = sum(int(ch) * (2 + i % 6) for i, ch in enumerate(reversed(body)))
    expected = (11 - total % 11) % 11
    return expected != 10 and expected == check


def mod11_10_ok(value: str) -> bool:
    """ISO 7064 MOD 11,10 (German tax ids, VAT numbers): the last digit checks the rest."""
    if not _digits(value) or len(value) < 2:
        return False
    product = 10
    for ch in value[:-1]:
        total = (int(ch) + product) % 10 or 10
        product = total * 2 % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(value[-1])


def gs1_ok(value: str) -> bool:
    """GS1 (EAN-8/13, UPC-A, GTIN-14) check digit: weights 3 and 1 from the right."""
    if not _digits(value) or len(value) < 2:
        return False
    total = sum(int(ch) * (3 if i % 2 == 0 else 1) for i, ch in enumerate(reversed(value[:-1])))
    return (10 - total % 10) % 10 == int(value[-1])


def elevenproof_ok(value: str) -> bool:
    """The Dutch "11-proef" (BSN): weights n, …, 2 and -1 for the last digit, sum mod 11 = 0."""
    if not _digits(value) or len(value) < 2:
        return False
    n = len(value)
    total = sum(int(ch) * (n - i) for i, ch in enumerate(value[:-1])) - int(value[-1])
    return total % 11 == 0


def _luhn(value: str) -> bool:
    return _digits(value) and luhn_ok(value)


# The names a custom recogniser may give as its ``checksum``.
CHECKSUMS: dict[str, Callable[[str], bool]] = {
    "elevenproof": elevenproof_ok,
    "gs1": gs1_ok,
    "luhn": _luhn,
    "mod11": mod11_ok,
    "mod11_10": mod11_10_ok,
    "mod97": mod97_ok,
    "verhoeff": verhoeff_ok,
}

"""Validity checks for identifiers that carry their own rules: a look-alike that fails is no match.

Every function takes the digits/characters only (separators already removed by the caller).
"""

from __future__ import annotations

__all__ = [
    "IBAN_LENGTHS",
    "card_brand_ok",
    "de_tax_id_ok",
    "iban_ok",
    "ipv4_ok",
    "luhn_ok",
    "uk_ni_ok",
    "us_ssn_ok",
]

# Country code -> IBAN length (SWIFT IBAN registry); a code not here is not an IBAN.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    # Added to the registry since 2020.
    "BI": 27, "DJ": 27, "FK": 18, "HN": 28, "LY": 25, "MN": 20, "NI": 28, "OM": 23,
    "RU": 33, "SD": 18, "SO": 23, "YE": 30,
    # Used nationally, not (yet) in the registry: their banks print them on statements.
    "AO": 25, "BF": 28, "BJ": 28, "CF": 27, "CG": 27, "CI": 28, "CM": 27, "CV": 25,
    "DZ": 26, "GA": 27, "GQ": 27, "GW": 25, "IR": 26, "KM": 27, "MA": 28, "MG": 27,
    "ML": 28, "MZ": 25, "NE": 28, "SN": 28, "TD": 27, "TG": 28,
}  # fmt: skip

# Issuer prefixes and lengths (ISO/IEC 7812 ranges of the major networks): Luhn alone passes
# one random number in ten, so a long order id would often look like a card without this.
_ANY = frozenset(range(12, 20))
_CARD_RANGES: tuple[tuple[int, int, frozenset[int]], ...] = (
    (1, 1, frozenset({15})),  # UATP, JCB (1800)
    (2131, 2131, frozenset({15})),  # JCB
    (2200, 2204, frozenset({16, 17, 18, 19})),  # Mir
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (300, 305, frozenset({14, 15, 16, 17, 18, 19})),  # Diners Club
    (34, 34, frozenset({15})),  # American Express
    (36, 36, frozenset({14, 15, 16, 17, 18, 19})),  # Diners Club International
    (37, 37, frozenset({15})),  # American Express
    (35, 35, frozenset({16, 17, 18, 19})),  # JCB (3528-3589; generators print all of 35)
    (38, 39, frozenset({14, 15, 16, 17, 18, 19})),  # Diners Club
    (4, 4, frozenset({13, 16, 18, 19})),  # Visa, Visa Electron
    (50, 50, _ANY),  # Maestro, Dankort, Elo, RuPay (508), Verve (5061)
    (51, 55, frozenset({16})),  # Mastercard
    (56, 58, _ANY),  # Maestro
    (60, 69, _ANY),  # Discover, RuPay (60, 65), UnionPay (62), Maestro (63, 67), Elo
    (81, 82, frozenset({16, 17, 18, 19})),  # RuPay, UnionPay (81)
    (9792, 9792, frozenset({16})),  # Troy
)

_NI_FIRST_BAD = frozenset("DFIQUV")
_NI_SECOND_BAD = frozenset("DFIOQUV")
_NI_PREFIX_BAD = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
# SSNs the SSA voided after they were printed on sample cards and in advertising.
_SSN_VOID = frozenset({"078051120", "219099999", "457555462"})


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand_ok(digits: str) -> bool:
    """A known network's prefix with one of its lengths."""
    n = len(digits)
    if digits.startswith("0604"):  # Maestro's one prefix with a leading 0 (older IIN tables)
        return n in _ANY
    for low, high, lengths in _CARD_RANGES:
        prefix = int(digits[: len(str(low))])
        if low <= prefix <= high and n in lengths:
            return True
    return False


def iban_ok(iban: str) -> bool:
    """Country length and the ISO 13616 mod-97 checksum; ``iban`` uppercase, no spaces."""
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def us_ssn_ok(digits: str) -> bool:
    """Area not 000, 666 or 9xx; group not 00; serial not 0000; not a voided sample."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return digits not in _SSN_VOID


def uk_ni_ok(ni: str) -> bool:
    """HMRC's rules for a National Insurance number: ``ni`` is 2 letters, 6 digits, 1 letter."""
    first, second, suffix = ni[0], ni[1], ni[-1]
    if first in _NI_FIRST_BAD or second in _NI_SECOND_BAD or ni[:2] in _NI_PREFIX_BAD:
        return False
    return suffix in "ABCD"


def de_tax_id_ok(digits: str) -> bool:
    """German Steuerliche Identifikationsnummer: 11 digits, the first not 0; in the first ten
    exactly one digit is repeated, twice or three times (three never all adjacent); the last
    is the ISO 7064 MOD 11,10 check digit."""
    if len(digits) != 11 or digits[0] == "0":
        return False
    body = digits[:10]
    counts = [body.count(d) for d in set(body)]
    repeated = [c for c in counts if c > 1]
    if len(repeated) != 1 or repeated[0] > 3:
        return False
    if repeated[0] == 3 and any(body[i] == body[i + 1] == body[i + 2] for i in range(8)):
        return False
    return _mod_11_10(body) == int(digits[10])


def _mod_11_10(body: str) -> int:
    product = 10
    for ch in body:
        total = (int(ch) + product) % 10 or 10
        product = total * 2 % 11
    check = 11 - product
    return 0 if check == 10 else check


def ipv4_ok(address: str) -> bool:
    """Four octets, each at most 255 and without a leading zero (``01`` reads as a version)."""
    parts = address.split(".")
    return len(parts) == 4 and all(
        int(p) <= 255 and (p == "0" or not p.startswith("0")) for p in parts
    )

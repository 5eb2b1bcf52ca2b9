"""Which unbroken runs of digits are phone numbers without a word to say so: numbering plans.

A run of digits with no separator, no ``+`` and no phone word before it is most often an id
(an order, a ticket, a customer number), so only shapes a national numbering plan fixes
both in length and in prefix are read as phones. Left out, measured (docs/guards.md, PII):
loose plans that would take too many ids with them (Spain's, Poland's, Portugal's nine
digits, Denmark's or Norway's eight, Brazil's eleven), Russia's trunk 8 (8 916 …) and a
country code written without its ``+`` (919876543210): each took more of the tuning
corpus's bare ids than it found phones on the multi-locale set's dev splits.
"""

from __future__ import annotations

import re

__all__ = ["unbroken_phone"]

_UNBROKEN = re.compile(
    "|".join(
        (
            "[2-9][0-9]{2}[2-9][0-9]{6}",  # North America: area code, exchange, line (10 digits)
            "[36-9][0-9]{9}",  # India's mobiles [6-9]…, Italy's and Colombia's 3xx mobiles
            "3[2-9][0-9]{7}",  # Italy's older nine-digit mobiles (333 123456)
            "1[3-9][0-9]{9}",  # China's mobiles: 1[3-9] and nine
            "800[0-9]{4,7}",  # freephone: 800, four to seven (the Gulf, Italy, Portugal …)
        )
    )
)


def unbroken_phone(digits: str) -> bool:
    """Is this run of digits, written without a separator, a phone number by its plan?"""
    if digits[0] == "0":  # a trunk 0 (9 digits: Belgium's, Israel's, the Gulf's landlines);
        # "00" unbroken is an id's zero padding more often than the international prefix
        return digits[1] != "0" and 9 <= len(digits) <= 12
    return _UNBROKEN.fullmatch(digits) is not None

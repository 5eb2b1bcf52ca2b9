"""The validity rules, on published examples and on their known-invalid neighbours."""

from __future__ import annotations

import random

import pytest

from keel.guard.pii.checks import (
    card_brand_ok,
    de_tax_id_ok,
    iban_ok,
    ipv4_ok,
    luhn_ok,
    uk_ni_ok,
    us_ssn_ok,
)


@pytest.mark.parametrize("digits", ["4111111111111111", "79927398713", "378282246310005", "0"])
def test_luhn_accepts_valid_numbers(digits: str) -> None:
    assert luhn_ok(digits)


@pytest.mark.parametrize("digits", ["4111111111111112", "79927398710", "378282246310006"])
def test_luhn_rejects_a_changed_digit(digits: str) -> None:
    assert not luhn_ok(digits)


def test_luhn_catches_every_single_digit_error() -> None:
    card = "4539578763621486"
    assert luhn_ok(card)
    for i in range(len(card)):
        for d in "0123456789":
            if d != card[i]:
                assert not luhn_ok(card[:i] + d + card[i + 1 :])


@pytest.mark.parametrize(
    "digits",
    [
        *("4111111111111111", "5555555555554444", "2223003122003222", "378282246310005"),
        *("6011111111111117", "3530111333300000", "30569309025904", "4222222222222"),
        "060452809571",  # Maestro's 0604, twelve digits
    ],
)
def test_known_network_prefixes_and_lengths(digits: str) -> None:
    assert card_brand_ok(digits)


@pytest.mark.parametrize(
    "digits",
    [
        "1234567812345670",
        "9111111111111111",
        "41111111111111",
        "37828224631000",
        "5955555555554444",
        "06045280957",  # 0604 with eleven digits: no card's length
    ],
)
def test_unknown_prefixes_or_wrong_lengths_are_no_card(digits: str) -> None:
    assert not card_brand_ok(digits)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "NL91ABNA0417164300",
        "FR1420041010050500013M02606",
        "BE68539007547034",
        "NO9386011117947",
        "MT84MALT011000012345MTLCAST001S",
    ],
)
def test_iban_valid(iban: str) -> None:
    assert iban_ok(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "GB82WEST12345698765433",  # checksum
        "DE88370400440532013000",  # check digits
        "DE8937040044053201300",  # one short for DE
        "DE893704004405320130000",  # one long
        "XX89370400440532013000",  # no such country
        "DEAB370400440532013000",  # check digits not digits
    ],
)
def test_iban_invalid(iban: str) -> None:
    assert not iban_ok(iban)


def test_us_ssn_rules() -> None:
    assert us_ssn_ok("123456789")
    assert us_ssn_ok("899450001")
    for bad in ("000123456", "666123456", "900123456", "999123456", "123006789", "123450000"):
        assert not us_ssn_ok(bad), bad
    assert not us_ssn_ok("078051120")  # the Woolworth wallet card


def test_uk_ni_rules() -> None:
    assert uk_ni_ok("AB123456C")
    assert uk_ni_ok("JG103759A")
    for first in "DFIQUV":
        assert not uk_ni_ok(first + "A123456C"), first
    for second in "DFIOQUV":
        assert not uk_ni_ok("A" + second + "123456C"), second
    for prefix in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
        assert not uk_ni_ok(prefix + "123456C"), prefix
    assert not uk_ni_ok("QQ123456C")  # HMRC's own example: never issued
    assert not uk_ni_ok("AB123456E")


def test_steuer_id_published_examples() -> None:
    assert de_tax_id_ok("36574261809")
    assert not de_tax_id_ok("36574261890")  # check digit
    assert not de_tax_id_ok("36554266806")  # two digits repeated
    assert not de_tax_id_ok("06574261809")  # leading 0
    assert not de_tax_id_ok("3657426180")  # ten digits


def _iso7064_checksum(number: str) -> int:
    """ISO 7064 MOD 11,10 over a whole number, written from the standard: valid iff 1."""
    carry = 5
    for ch in number:
        carry = (((carry or 10) * 2) % 11 + int(ch)) % 10
    return carry


def _digit_rule(body: str) -> bool:
    repeats = sorted(body.count(d) for d in set(body) if body.count(d) > 1)
    if repeats not in ([2], [3]):
        return False
    return not any(body[i] == body[i + 1] == body[i + 2] for i in range(8))


def test_steuer_id_agrees_with_an_independent_check_on_random_numbers() -> None:
    rng = random.Random(7)
    accepted = 0
    for _ in range(20_000):
        number = str(rng.randint(10**10, 10**11 - 1))
        want = _digit_rule(number[:10]) and _iso7064_checksum(number) == 1
        assert de_tax_id_ok(number) == want, number
        accepted += want
    assert accepted > 30  # the sample holds valid ones too, not only rejections


def test_steuer_id_three_repeats_may_not_stand_together() -> None:
    body_ok, body_bad = "1121345678", "1112345678"
    for body, want in ((body_ok, True), (body_bad, False)):
        check = next(d for d in "0123456789" if _iso7064_checksum(body + d) == 1)
        assert de_tax_id_ok(body + check) is want


@pytest.mark.parametrize("address", ["192.168.1.1", "0.0.0.0", "255.255.255.255", "10.0.0.254"])
def test_ipv4_valid(address: str) -> None:
    assert ipv4_ok(address)


@pytest.mark.parametrize("address", ["256.1.1.1", "1.2.3.999", "01.2.3.4", "1.2.3", "1.2.3.4.5"])
def test_ipv4_invalid(address: str) -> None:
    assert not ipv4_ok(address)

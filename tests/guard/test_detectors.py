"""Detection per kind: the formats that must be found, and look-alikes that must not."""

from __future__ import annotations

import pytest

from keel.guard.pii import Entity, Kind, detect
from keel.guard.pii.detectors import PRIORITY, resolve
from keel.guard.pii.patterns import GROUP_TOKEN


def found(text: str) -> list[tuple[str, str]]:
    return [(e.kind.value, text[e.start : e.end]) for e in detect(text)]


POSITIVES = [
    ("EMAIL", "john.doe@example.com"),
    ("EMAIL", "Jane_O+news@mail.example.co.uk"),
    ("EMAIL", "x@ab.io"),
    ("PHONE", "+44 20 7946 0958"),
    ("PHONE", "+1 (555) 123-4567"),
    ("PHONE", "+49 30 1234567"),
    ("PHONE", "+33 1 23 45 67 89"),
    ("PHONE", "+44 (0)20 7946 0958"),
    ("PHONE", "+4915123456789"),
    ("PHONE", "(555) 123-4567"),
    ("PHONE", "555-123-4567"),
    ("PHONE", "555.123.4567"),
    ("PHONE", "1-800-555-0199"),
    ("PHONE", "020 7946 0958"),
    ("PHONE", "07700 900123"),
    ("PHONE", "0161 496 0000"),
    ("PHONE", "030 1234567"),
    ("PHONE", "0151 23456789"),
    ("PHONE", "089/12345678"),
    ("PHONE", "(030) 1234567"),
    ("PHONE", "0049 30 1234567"),
    ("PHONE", "01 23 45 67 89"),
    ("PHONE", "06.12.34.56.78"),
    ("PHONE", "0123456789"),  # national formats without separators
    ("PHONE", "13812345678"),  # a Chinese mobile
    ("CARD", "4111 1111 1111 1111"),
    ("CARD", "4111-1111-1111-1111"),
    ("CARD", "4111111111111111"),
    ("CARD", "5555 5555 5555 4444"),
    ("CARD", "3782 822463 10005"),
    ("CARD", "378282246310005"),
    ("CARD", "4580730215735"),  # Visa 13
    ("CARD", "4819 3036 4262 1299 728"),  # Visa 19
    ("CARD", "5500.3322.4538.3238"),
    ("CARD", "2221 0000 0000 0009"),  # Mastercard 2-series
    ("CARD", "3740-562241-54997"),
    ("CARD", "3009 514547 5277"),  # Diners
    ("CARD", "6520 4056 0865 6905"),  # Discover
    ("CARD", "3571 9540 6135 8959"),
    ("CARD", "503854814541"),  # Maestro 12
    ("CARD", "2200 0000 0000 0004"),  # Mir
    ("CARD", "6521 0000 0000 0007"),  # RuPay
    ("CARD", "6212 0000 0000 0000 005"),  # UnionPay 19
    ("CARD", "9792 0000 0000 0003"),  # Troy
    ("CARD", "4111 1111-1111.1111"),  # mixed separators
    ("CARD", "4111 1111 11111111"),  # 4-4-8
    ("IBAN", "de89 3704 0044 0532 0130 00"),
    ("IBAN", "gb82west12345698765432"),
    ("IBAN", "RU02 0445 2560 0407 0281 0412 3456 7890 1"),  # the length table's newest rows
    ("IBAN", "LY83 0020 4800 0020 1001 2036 1"),
    ("EMAIL", "Ünal.Özdemir@müller.de"),
    ("EMAIL", "почта@пример.рф"),
    ("EMAIL", "राम@उदाहरण.भारत"),
    ("EMAIL", "山田@例え.jp"),
    ("EMAIL", "info@xn--80ak6aa92e.com"),
    ("IBAN", "DE89 3704 0044 0532 0130 00"),
    ("IBAN", "DE89370400440532013000"),
    ("IBAN", "GB82 WEST 1234 5698 7654 32"),
    ("IBAN", "FR14 2004 1010 0505 0001 3M02 606"),
    ("IBAN", "NO93 8601 1117 947"),
    ("IP", "192.168.1.1"),
    ("IP", "8.8.8.8"),
    ("IP", "2001:db8::8a2e:370:7334"),
    ("IP", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
    ("IP", "fe80::1ff:fe23:4567:890a"),
    ("IP", "::ffff:192.0.2.128"),
    ("US_SSN", "123-45-6789"),
    ("US_SSN", "123 45 6789"),
    ("UK_NI", "AB 12 34 56 C"),
    ("UK_NI", "AB123456C"),
    ("DE_TAX_ID", "36 574 261 809"),
    ("DE_TAX_ID", "36574261809"),
]


@pytest.mark.parametrize(("kind", "value"), POSITIVES)
def test_found_inside_a_sentence(kind: str, value: str) -> None:
    text = f"Please note {value}, thanks."
    assert found(text) == [(kind, value)]


@pytest.mark.parametrize(("kind", "value"), POSITIVES)
def test_found_alone_and_at_the_edges(kind: str, value: str) -> None:
    assert found(value) == [(kind, value)]
    assert found(f"({value})") == [(kind, value)]


NEGATIVES = [
    "order number 123456789012",  # a plain long number
    "invoice 4111 1111 1111 1112",  # fails Luhn
    "ref 1234 5678 1234 5670",  # passes Luhn, no card network starts with 1
    "IBAN DE88 3704 0044 0532 0130 00",  # check digits wrong
    "IBAN GB82 WEST 1234 5698 7654 33",  # checksum wrong
    "SSN 000-12-3456",
    "SSN 666-12-3456",
    "SSN 912-34-5678",
    "SSN 123-00-4567",
    "SSN 123-45-0000",
    "NI QQ 12 34 56 C",
    "NI AB 12 34 56 E",
    "NI BG 12 34 56 A",
    "tax 36574261890",  # Steuer-ID check digit wrong
    "tax 36554266806",  # two digits repeated
    "version 1.2.3",
    "release v2.10.4",
    "version 1.2.3.4",
    "build 10.0.19041.1",
    "address 256.1.1.1",
    "at 12:30:45 UTC",
    "2024-01-15T10:30:00Z",
    "meeting on 12/03/2024",
    "the invoice of 12 March 1980",
    "price $1,234.56 or € 1.299,00",
    "ISBN 978-3-16-148410-0",
    "ISBN 9783161484100",
    "Python 3.11.7",
    "MAC 00:1A:2B:3C:4D:5E",
    "use std::io and a::b",
    "loopback ::1",
    "0049151123456",  # unbroken '00' numbers without a phone word are ids
    "pi is 3.14159265358979",
    "EAN 4006381333931",  # a barcode with its word
    "barcode 4006381333931 on the box",
    "4006381333931",  # a valid EAN-13 without a card word is a barcode
    "Order #4111111111111111 shipped",
    "ORD-4111111111111111",
    "ratio 1:2:3",
    "timestamp 1700000000123",
    "from 1990-2020",
    "user@localhost",
    "@handle and name@",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_not_found(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "born on 12 March 1980",
        "Date of birth: 1980-03-12",
        "DOB 03/12/1980",
        "She was born March 12, 1980 in Leeds",
        "geboren am 12.03.1980",
        "Geburtsdatum: 12. März 1980",
        "née le 1er janvier 1980",
        "né le 12 mars 1980",
        "birthday: 12th March 1980",
    ],
)
def test_a_date_of_birth_needs_its_context(text: str) -> None:
    kinds = [k for k, _ in found(text)]
    assert kinds == ["DOB"]
    date = found(text)[0][1]
    assert found(text.replace(text[: text.index(date)], "Meeting on ")) == []


def test_dob_context_must_be_close() -> None:
    far = "born in Leeds, moved to London later on, and on 12 March 1980 it rained"
    assert found(far) == []
    assert found("12 March 1980, and then a long while later: born") == []


def test_dob_context_may_follow_the_date() -> None:
    assert found("Ich bin am 12.03.1980 geboren.") == [("DOB", "12.03.1980")]
    assert found("12 March 1980 (date of birth)") == [("DOB", "12 March 1980")]


def test_dob_context_must_be_in_the_same_sentence_with_no_number_between() -> None:
    assert found("The baby was born healthy. Next check-up on 4 August 2004.") == []
    assert found("Le code 21 mars 1991 ne marche pas. Birthday: 27 May 1951") == [
        ("DOB", "27 May 1951")
    ]
    assert found("born on 1936-02-10, ref 21.5.2015") == [("DOB", "1936-02-10")]
    assert found("Date of birth:\n12/03/1980") == [("DOB", "12/03/1980")]
    assert found("D.O.B. 12/03/1980") == [("DOB", "12/03/1980")]


def test_month_first_dates_are_dates_too() -> None:
    assert found("DOB 11-23-1986") == [("DOB", "11-23-1986")]
    assert found("DOB 23/11/1986") == [("DOB", "23/11/1986")]
    assert found("DOB 23/23/1986") == []


def test_impossible_dates_are_no_dob() -> None:
    assert found("born on 31.02.1980") == []
    assert found("born on 12.03.1850") == []


def test_several_entities_in_order() -> None:
    text = "Mail a@b.de, call +49 30 1234567, pay DE89 3704 0044 0532 0130 00."
    assert found(text) == [
        ("EMAIL", "a@b.de"),
        ("PHONE", "+49 30 1234567"),
        ("IBAN", "DE89 3704 0044 0532 0130 00"),
    ]


def test_an_iban_stops_at_its_country_length() -> None:
    text = "BE68 5390 0754 7034 CODE"
    assert found(text) == [("IBAN", "BE68 5390 0754 7034")]


def test_nine_digits_are_an_ssn_only_right_after_ssn() -> None:
    assert found("SSN: 123456789") == [("US_SSN", "123456789")]
    assert found("my social security number is 123456789") == [("US_SSN", "123456789")]
    assert found("order 123456789") == []
    assert found("SSN 000123456") == []  # area 000
    assert found("SSN list item 12, order 123456789") == []  # a number between


def test_numbers_glued_to_other_numbers_are_not_phones() -> None:
    assert found("555-123-4567-8") == []
    assert found("1 555-123-4567 2") == []


def test_kinds_limits_the_search() -> None:
    text = "a@b.de and 192.168.1.1"
    assert [e.kind for e in detect(text, kinds={Kind.IP})] == [Kind.IP]
    assert detect(text, kinds=set()) == []


def test_text_without_digits_or_at_sign_is_skipped() -> None:
    assert detect("Just words, nothing personal here: hello world.") == []


def test_a_recogniser_adds_names_and_loses_to_longer_matches() -> None:
    def names(text: str) -> list[Entity]:
        at = text.find("Jane Doe")
        out = [Entity(Kind.PERSON, at, at + 8)] if at >= 0 else []
        out += [Entity(Kind.PERSON, 0, 3)]  # overlaps the e-mail address below
        return out

    text = "abc@example.com wrote to Jane Doe"
    got = [(e.kind, text[e.start : e.end]) for e in detect(text, ner=names)]
    assert got == [(Kind.EMAIL, "abc@example.com"), (Kind.PERSON, "Jane Doe")]
    assert detect(text, kinds={Kind.EMAIL}, ner=names) == detect(text, kinds={Kind.EMAIL})


def test_every_multi_token_match_is_made_of_group_tokens() -> None:
    # The stream guard's rule (patterns.py): tokens inside a match are number-like.
    for kind, value in POSITIVES:
        for token in value.split(" ")[1:-1]:
            assert GROUP_TOKEN.fullmatch(token), (kind, token)
    for token in ("12", "March", "mars", "1980,", "12th", "1er", "12.", "März"):
        assert GROUP_TOKEN.fullmatch(token), token
    for token in ("the", "of", "born", "db8"):
        assert not GROUP_TOKEN.fullmatch(token), token


def test_every_kind_has_a_priority() -> None:
    assert set(PRIORITY) == set(Kind)


def test_on_equal_spans_the_checksummed_kind_wins() -> None:
    phone, card = Entity(Kind.PHONE, 0, 16), Entity(Kind.CARD, 0, 16)
    assert resolve([phone, card]) == [card]
    assert resolve([Entity(Kind.PHONE, 0, 17), card]) == [Entity(Kind.PHONE, 0, 17)]


def test_rare_card_numbers_that_read_as_other_ids_need_a_card_word() -> None:
    jcb = "180002931375859"  # JCB's old 15 digits, also the shape of a French NIR
    assert found(f"card {jcb}") == [("CARD", jcb)]
    assert found(f"logged as {jcb}") == []


def test_maestro_0604_is_a_card_but_not_after_a_business_word() -> None:
    maestro = "0604.5280.9571"  # Luhn-valid; also a trunk-0 phone's shape
    assert found(f"card {maestro}") == [("CARD", maestro)]
    assert found(f"Jean Moran, {maestro}") == [("CARD", maestro)]
    assert found(f"Order {maestro}") == []
    assert found("card 0604.5280.9572") == []  # fails Luhn


@pytest.mark.parametrize(
    "text",
    [
        "(Tracking 6391-7044-363).",
        "«Order 5151-6511-903»",
        "<build 289.992.464>",
        "[SKU 214109811] shipped",
        '"Ref. 0231-5883" — Roman',
        "Le code 18542733091 ne marche pas.",
        "Die Rechnung vom 6406837527 ist bezahlt.",
    ],
)
def test_a_business_word_counts_inside_brackets_and_quotes(text: str) -> None:
    assert detect(text) == []


def test_a_business_word_that_ends_a_sentence_does_not_reach_the_next() -> None:
    text = "Già limite sorriso caffè corsa destro articolo. (JLLSRN80C22F477O)."
    assert [e.kind for e in detect(text)] == [Kind.IT_CF]


@pytest.mark.parametrize(
    "value",
    [
        "MT84 MALT 0110 0001 2345 MTLC AST0 01S",  # letters on both sides of the digits
        "SC18SSCB11010000000000001497USD",
        "nl91 abna 0417 1643 00",
    ],
)
def test_ibans_with_letter_groups_far_from_their_digits(value: str) -> None:
    found = detect(f"IBAN: {value}.")
    assert [(e.kind, e.end - e.start) for e in found] == [(Kind.IBAN, len(value))]


def test_entities_far_apart_in_a_long_text_are_all_found() -> None:
    """The digit patterns run near seeds only: each of several apart is still found."""
    filler = " The quarterly review showed steady growth across all regions." * 4 + " "
    values = ["+49 151 23456789", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00"]
    text = filler.join(values) + filler + "ES 12345678Z, CF RSSMRA85T10A562S."
    kinds = [e.kind for e in detect(text)]
    assert kinds == [Kind.PHONE, Kind.CARD, Kind.IBAN, Kind.ES_DNI, Kind.IT_CF]

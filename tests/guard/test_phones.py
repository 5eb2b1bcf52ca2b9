"""Phones in national formats, and the numbers that look like phones but are not."""

from __future__ import annotations

import pytest

from keel.guard.pii import Kind, StreamGuard, detect


def phones(text: str) -> list[str]:
    return [text[e.start : e.end] for e in detect(text) if e.kind is Kind.PHONE]


@pytest.mark.parametrize(
    "phone",
    [
        "(868)458-7840x05756",  # an extension glued on
        "568.959.5572 ext. 678",
        "+1-723-430-2522",
        "+44(0)2074960390",
        "+43 (0) 732 15244939",
        "+90(115)2449390",
        "(02668) 587840",
        "0115244939",  # without separators, a trunk 0
        "13711524493",  # a Chinese mobile
        "2114524493",  # North American, unbroken
        "3471234567",  # an Italian mobile
        "070-1152-4493",
        "08-123 456 78",
        "06-01/152 4493",
        "(06)82/330-2522",
        "0 3909 2668",
        "612 34 56 78",
        "723 909 266",
        "115-24-49",
        "(11) 91234-5678",
        "8 (495) 123-45-67",
        "0049 30 1234567",
    ],
)
def test_national_formats_are_phones(phone: str) -> None:
    assert phones(f"Ring {phone} tomorrow") == [phone]
    assert phones(f"Ich bin unter {phone} erreichbar.") == [phone]


@pytest.mark.parametrize("phone", ["84005756", "1170715621", "12345678901"])
def test_bare_runs_of_digits_are_phones_only_after_a_phone_word(phone: str) -> None:
    assert phones(f"logged as {phone} in the ticket") == []
    for label in ("Tel.", "phone:", "mobile", "телефон", "Handy", "WhatsApp"):
        assert phones(f"{label} {phone}") == [phone], label


@pytest.mark.parametrize(
    "text",
    [
        "Order 0612 345 678 has shipped",
        "Invoice no. 030 1234567",
        "part no. 0151-2345-6789",
        "SKU 0161 496 0000",
        "we sold +250 000 000 units",
        "+12 500 000 pcs this year",
        "a budget of € 12 500 000",
        "a budget of 1 250 000",
        "version 10.0.2658.122",
        "logged at 2026-12-11 23:52:40",
        "years 2019 2020 2021",
        "code ORD-3510-3027",
        "555-123-4567-8",
    ],
)
def test_look_alikes_are_not_phones(text: str) -> None:
    assert phones(text) == []


def test_a_quantity_split_across_stream_chunks_is_still_a_quantity() -> None:
    guard = StreamGuard({Kind.PHONE})
    text = "".join(guard.feed(piece) for piece in ("we sold +250 000 000 u", "nits today"))
    assert text + guard.flush() == "we sold +250 000 000 units today"
    guard = StreamGuard({Kind.PHONE})
    text = "".join(guard.feed(piece) for piece in ("call +44 20 7946 0958 t", "oday"))
    assert text + guard.flush() == "call [PHONE] today"


@pytest.mark.parametrize(
    "phone",
    [
        "(+57) 325 556 54 60",  # the country code in brackets
        "+(370) 21064985",
        "068259791",  # a trunk 0 and eight digits: Belgium's, Israel's, the Gulf's landlines
        "010-1234-5678",  # Korea
        "06 20 123 4567",  # Hungary
        "090-1234-5678",  # Japan
        "0532 123 45 67",  # Turkey
    ],
)
def test_more_national_plans_are_phones(phone: str) -> None:
    assert phones(f"Contact: {phone} today") == [phone]


@pytest.mark.parametrize(
    ("label", "number"),
    [("هاتف", "2003984"), ("טלפון", "2003984"), ("điện thoại", "2003984"), ("telepon", "2003984")],
)
def test_phone_words_of_more_languages_make_a_bare_number_a_phone(label: str, number: str) -> None:
    assert phones(f"{label} {number}") == [number]


def test_a_phone_word_that_ends_a_sentence_labels_nothing() -> None:
    """ "telefon." ends the sentence; the id after it is a PESEL, not a phone."""
    text = "Odpowiedź: urządzenie telefon. (14230116095)."
    assert [e.kind for e in detect(text)] == [Kind.PL_PESEL]


def test_brazil_unbroken_elevens_are_not_phones_without_a_word() -> None:
    assert phones("We compared 96929897642 with last year") == []


@pytest.mark.parametrize(
    "phone",
    [
        "333123456",  # an Italian mobile of nine digits
        "3471234567",
        "8004444",  # freephone 800 and four to seven digits
        "800981500",
        "816 2191",  # a local number of seven digits, written with a space
        "216 09 13",
    ],
)
def test_plan_shapes_are_phones_without_a_phone_word(phone: str) -> None:
    assert phones(f"{phone} (Anna Rossi)") == [phone]
    assert phones(f"Anna Rossi — {phone}, Roma") == [phone]


@pytest.mark.parametrize(
    "text",
    [
        "Order 333123456 has shipped",
        "Ticket 8004444 is closed",
        "SKU 816 2191",
        "we sold 816 2191 units",
        "logged as 312345678 in the ticket",  # nine digits outside Italy's mobile blocks
        "logged as 116 2191 in the ticket",  # no local number starts with 1
        "logged as 0012345678 in the ticket",  # zero padding, not the international 00
        "logged as 80012 in the ticket",
    ],
)
def test_look_alikes_of_the_plan_shapes_are_not_phones(text: str) -> None:
    assert phones(text) == []

"""The shipped NER tagger: names, addresses and companies found in several languages,
look-alikes (products, brands, place names in product codes) left alone."""

from __future__ import annotations

import pytest

from keel.guard.ner import load
from keel.guard.ner.features import segments, tokenise
from keel.guard.pii import detect
from keel.guard.pii.entities import Kind


def found(text: str) -> list[tuple[str, str]]:
    return [(e.kind.value, text[e.start : e.end]) for e in load()(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Please forward the contract to Anna Schmidt before Friday.", "Anna Schmidt"),
        ("Sehr geehrter Herr Becker, anbei die Unterlagen.", "Becker"),
        ("Merci de transmettre ce dossier à Camille Lefèvre.", "Camille Lefèvre"),
        ("Hola Lucía, ¿me mandas los documentos?", "Lucía"),
        ("Ho parlato con Giulia Romano ieri.", "Giulia Romano"),
        ("Stuur dit door naar Daan de Vries.", "Daan de Vries"),
    ],
)
def test_finds_person_names_in_several_languages(text: str, name: str) -> None:
    assert ("PERSON", name) in found(text)


def test_finds_an_address_and_a_company() -> None:
    text = "Send the invoice to Müller Logistik GmbH, Hauptstraße 5, 10115 Berlin."
    assert found(text) == [
        ("ORG", "Müller Logistik GmbH"),
        ("ADDRESS", "Hauptstraße 5, 10115 Berlin"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "The Berlin-X200 router ships with firmware 3.2.",
        pytest.param(
            "Is the Paris-7 adapter compatible with Windows 11?",
            marks=pytest.mark.xfail(strict=True, reason="a known miss: 'Windows 11' as ADDRESS"),
        ),
        "Our Ford Focus needs new tyres before the trip.",
        pytest.param(
            "Deploy Kubernetes 1.29 to the Frankfurt and Dublin regions.",
            marks=pytest.mark.xfail(strict=True, reason="a known miss: Dublin read as a name"),
        ),
        "Flights from Madrid to Lisbon are delayed by two hours.",
        "the meeting moved to tuesday, see you there",
    ],
)
def test_leaves_look_alikes_alone(text: str) -> None:
    assert found(text) == []


def test_is_a_recogniser_for_detect() -> None:
    text = "Mail anna@example.com or ask Anna Schmidt."
    kinds = [(e.kind, text[e.start : e.end]) for e in detect(text, ner=load())]
    assert kinds == [(Kind.EMAIL, "anna@example.com"), (Kind.PERSON, "Anna Schmidt")]


def test_only_tokens_near_a_capital_or_a_digit_are_tagged() -> None:
    tokens = tokenise("we met at noon and then Anna left at 5 pm with the rest of them")
    runs = [[tokens[i].text for i in run] for run in segments(tokens)]
    assert runs == [["and", "then", "Anna", "left", "at", "5", "pm", "with"]]


def test_numbers_with_separators_are_one_token() -> None:
    assert [t.text for t in tokenise("v3.2 costs 80,000.")] == [
        "v3",
        ".",
        "2",
        "costs",
        "80,000",
        ".",
    ]

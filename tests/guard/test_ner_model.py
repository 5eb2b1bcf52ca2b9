"""The shipped NER tagger: names, addresses and companies found in several languages,
look-alikes (products, brands, place names in product codes) left alone."""

from __future__ import annotations

import numpy as np
import pytest

from keel.guard.ner import TAGS, load
from keel.guard.ner.features import features, segments, tokenise
from keel.guard.ner.model import allowed, decode, entities_of, viterbi
from keel.guard.pii import detect
from keel.guard.pii.entities import Entity, Kind


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
        "Is the Paris-7 adapter compatible with Windows 11?",
        "Our Ford Focus needs new tyres before the trip.",
        "Deploy Kubernetes 1.29 to the Frankfurt and Dublin regions.",
        "Shot on a Leica M11 with a Zeiss Otus 55mm lens.",
        "Please file this under Project Phoenix, Milestone 3.",
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


def test_cached_rows_are_the_features_of_training() -> None:
    tagger = load()
    text = "Frau Dr. Müller (Acme GmbH) wohnt in der Hauptstraße 5, 10115 Berlin. Danke!"
    tokens = tokenise(text)
    for run in segments(tokens):
        names = features(text, tokens, tagger.gazetteer, run)
        assert tagger.rows.ids(text, tokens, run) == [
            [tagger.index.get(f, 0) for f in row] for row in names
        ]


def test_decoding_all_segments_at_once_finds_viterbis_path() -> None:
    rng = np.random.default_rng(3)
    trans = (rng.normal(size=(len(TAGS) + 1, len(TAGS))) + allowed(TAGS)).astype(np.float32)
    lengths = np.array([9, 6, 1], np.intp)
    emit = np.zeros((3, 9, len(TAGS)), np.float32)
    for j, n in enumerate(lengths):
        emit[j, :n] = rng.normal(size=(n, len(TAGS))) * 3
    tags, gaps = decode(emit, lengths, trans)
    for j, n in enumerate(lengths):
        assert list(tags[j, :n]) == viterbi(emit[j, :n], trans)
        outside = tags[j, :n] == 0  # a token outside any entity loses nothing by being so
        assert np.allclose(gaps[j, :n][outside], 0)
        assert (gaps[j, :n][~outside] > 0).all()


def test_an_entity_short_of_its_kinds_margin_is_dropped() -> None:
    tokens = tokenise("ask Zeiss Otus now")
    tags = ["O", "B-PERSON", "I-PERSON", "O"]
    gaps = [0.0, 0.4, 1.5, 0.0]
    assert entities_of(tokens, tags, gaps, {"PERSON": 2.0}) == []
    assert entities_of(tokens, tags, gaps, {"PERSON": 1.0}) == [Entity(Kind.PERSON, 4, 14)]


def test_segments_end_with_their_sentence() -> None:
    tokens = tokenise("Anna wrote yesterday. Peter answered! Dr. Weber too")
    runs = [" ".join(tokens[i].text for i in run) for run in segments(tokens)]
    assert runs == ["Anna wrote yesterday .", "Peter answered !", "Dr . Weber too"]

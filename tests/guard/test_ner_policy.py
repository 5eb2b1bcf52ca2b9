"""The NER tagger behind the PII hook: a data class with ``ner`` on redacts and
pseudonymises names, and one person keeps one placeholder across the conversation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from keel.config.security import PIIPolicy
from keel.guard.ner import load
from keel.guard.pii import Kind, PiiActions, Pseudonymiser, RequestGuard
from keel.guard.pii.entities import Entity
from keel.pipeline.pii_rules import PIIRules


def chat(*texts: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": t} for t in texts]}


def answer(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def contents(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"]]


def test_a_data_class_with_ner_acts_on_names_addresses_and_companies() -> None:
    rules = PIIRules(PIIPolicy(prompts="redact", ner=True))
    policy = rules.inbound_policy
    assert {Kind.PERSON, Kind.ADDRESS, Kind.ORG} <= policy.inspected
    body, blocked = RequestGuard(policy).inbound(chat("Please forward this to Anna Schmidt."))
    assert (contents(body), blocked) == (["Please forward this to [PERSON]."], [])


def test_without_ner_names_pass_and_asking_for_them_says_what_to_switch_on() -> None:
    policy = PIIRules(PIIPolicy(prompts="redact")).inbound_policy
    assert Kind.PERSON not in policy.inspected
    with pytest.raises(ValueError, match=r"pii\.ner"):
        PIIRules(PIIPolicy(prompts="redact", entities=["PERSON"]))


def test_pseudonymised_names_come_back_in_the_answer() -> None:
    guard = RequestGuard(PiiActions.parse({"PERSON": "pseudonymise"}, ner=load()))
    body, _ = guard.inbound(chat("Write a thank-you note to Anna Schmidt."))
    assert contents(body) == ["Write a thank-you note to <PERSON_1>."]
    out = guard.outbound(answer("Dear <PERSON_1>, thank you!"))
    assert out["choices"][0]["message"]["content"] == "Dear Anna Schmidt, thank you!"


def test_one_person_keeps_one_placeholder_across_messages() -> None:
    guard = RequestGuard(PiiActions.parse({"PERSON": "pseudonymise"}, ner=load()))
    body, _ = guard.inbound(
        chat(
            "Please forward the contract to Anna Schmidt.",
            "Sehr geehrte Frau Schmidt, anbei der Vertrag.",
            "Thanks, Anna! Talk soon.",
            "Please forward the invoice to Peter Wolf.",
        )
    )
    assert contents(body) == [
        "Please forward the contract to <PERSON_1>.",
        "Sehr geehrte Frau <PERSON_1>, anbei der Vertrag.",
        "Thanks, <PERSON_1>! Talk soon.",
        "Please forward the invoice to <PERSON_2>.",
    ]
    restored = guard.outbound(answer("Frau <PERSON_1> and <PERSON_2> signed."))
    assert (
        restored["choices"][0]["message"]["content"] == "Frau Anna Schmidt and Peter Wolf signed."
    )


def test_a_name_that_fits_two_people_gets_its_own_placeholder() -> None:
    p = Pseudonymiser()
    names = ["Anna Schmidt", "Peter Schmidt", "Schmidt", "Peter", "anna schmidt", "Anna Wolf"]
    got = [p.placeholder(Kind.PERSON, n) for n in names]
    assert got == [
        "<PERSON_1>",
        "<PERSON_2>",
        "<PERSON_3>",
        "<PERSON_2>",
        "<PERSON_1>",
        "<PERSON_4>",
    ]
    assert p.restore("<PERSON_2>") == "Peter Schmidt"


def test_the_fullest_form_is_restored() -> None:
    p = Pseudonymiser()
    assert p.placeholder(Kind.PERSON, "Anna") == p.placeholder(Kind.PERSON, "Anna Schmidt")
    assert p.restore("Hi <PERSON_1>") == "Hi Anna Schmidt"


class OnlyFullNames:
    """A recogniser that finds "Anna Schmidt" and "Peter Wolf" whole, never a part alone."""

    def __call__(self, text: str) -> list[Entity]:
        return [
            Entity(Kind.PERSON, m.start(), m.end())
            for m in re.finditer(r"Anna Schmidt|Peter Wolf", text)
        ]


def test_a_name_found_once_is_found_again_alone_in_later_messages() -> None:
    guard = RequestGuard(PiiActions.parse({"PERSON": "pseudonymise"}, ner=OnlyFullNames()))
    body, _ = guard.inbound(
        chat(
            "Please forward the contract to Anna Schmidt.",
            "Did Schmidt sign? Ask Anna, and Peter Wolf too.",
            "Schmidtke and schmidt are someone else; Wolf is Peter's.",
        )
    )
    assert contents(body) == [
        "Please forward the contract to <PERSON_1>.",
        "Did <PERSON_1> sign? Ask <PERSON_1>, and <PERSON_2> too.",
        "Schmidtke and schmidt are someone else; <PERSON_2> is <PERSON_2>'s.",
    ]


def test_mentions_join_adjacent_words_and_leave_found_entities_alone() -> None:
    p = Pseudonymiser(ner=OnlyFullNames())
    p.pseudonymise("Write to Anna Schmidt.")
    text = "Anna  Schmidt and Schmidt Anna at anna@example.com"
    got = [(e.kind, text[e.start : e.end]) for e in p.mentions(text, [])]
    assert got == [
        (Kind.PERSON, "Anna"),
        (Kind.PERSON, "Schmidt"),
        (Kind.PERSON, "Schmidt Anna"),
    ]

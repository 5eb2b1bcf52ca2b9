"""Redaction, pseudonymisation and its restore, and the kinds a block names."""

from __future__ import annotations

from keel.guard.pii import Kind, Pseudonymiser, blocked_types, redact

TEXT = (
    "Write to ann@example.com or bob@example.org, or call +44 20 7946 0958; ann@example.com again."
)


def test_redact_puts_the_kind_in_place_of_the_value() -> None:
    assert redact(TEXT) == "Write to [EMAIL] or [EMAIL], or call [PHONE]; [EMAIL] again."


def test_numbered_redaction_keeps_one_number_per_value() -> None:
    assert redact(TEXT, numbered=True) == (
        "Write to [EMAIL_1] or [EMAIL_2], or call [PHONE_1]; [EMAIL_1] again."
    )


def test_redact_only_the_kinds_asked_for() -> None:
    assert redact(TEXT, {Kind.PHONE}) == TEXT.replace("+44 20 7946 0958", "[PHONE]")


def test_text_without_pii_is_returned_as_is() -> None:
    text = "Nothing to see, version 1.2.3, order 42."
    assert redact(text) is text


def test_pseudonymise_then_restore_gives_the_original_back() -> None:
    p = Pseudonymiser()
    hidden = p.pseudonymise(TEXT)
    assert hidden == ("Write to <EMAIL_1> or <EMAIL_2>, or call <PHONE_1>; <EMAIL_1> again.")
    for value in ("ann@example.com", "bob@example.org", "7946"):
        assert value not in hidden
    assert p.restore(hidden) == TEXT


def test_the_same_value_keeps_its_placeholder_across_texts_of_a_request() -> None:
    p = Pseudonymiser()
    first = p.pseudonymise("I am ann@example.com")
    second = p.pseudonymise("Reply to bob@example.org, cc ann@example.com")
    assert first == "I am <EMAIL_1>"
    assert second == "Reply to <EMAIL_2>, cc <EMAIL_1>"
    assert p.mapping == {"<EMAIL_1>": "ann@example.com", "<EMAIL_2>": "bob@example.org"}


def test_restore_works_on_the_models_own_wording() -> None:
    p = Pseudonymiser()
    p.pseudonymise("My card is 4111 1111 1111 1111 and my mail ann@example.com")
    answer = "I have noted <CARD_1>. A receipt goes to <EMAIL_1>, not <EMAIL_7> or <EMAIL_1"
    assert p.restore(answer) == (
        "I have noted 4111 1111 1111 1111. A receipt goes to ann@example.com, not <EMAIL_7> "
        "or <EMAIL_1"
    )


def test_a_pseudonymiser_limited_to_some_kinds_leaves_the_rest() -> None:
    p = Pseudonymiser({Kind.EMAIL})
    assert p.pseudonymise(TEXT) == (
        "Write to <EMAIL_1> or <EMAIL_2>, or call +44 20 7946 0958; <EMAIL_1> again."
    )


def test_restore_without_anything_pseudonymised_is_a_no_op() -> None:
    p = Pseudonymiser()
    text = "a <EMAIL_1> that was never issued"
    assert p.restore(text) is text


def test_blocked_types_names_kinds_sorted_once_each() -> None:
    assert blocked_types(TEXT) == [Kind.EMAIL, Kind.PHONE]
    assert blocked_types(TEXT, {Kind.CARD, Kind.PHONE}) == [Kind.PHONE]
    assert blocked_types("no personal data") == []

"""A data class's rules on one request and its answer."""

from __future__ import annotations

from typing import Any

import pytest

from keel.guard.pii import Action, Entity, Kind, PiiActions, RequestGuard, blocked_message

POLICY = PiiActions.parse(
    {"EMAIL": "pseudonymise", "PHONE": "redact", "US_SSN": "block", "IP": "allow"}
)


def chat(text: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


def answer(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


def test_each_kind_gets_its_action_on_the_way_in() -> None:
    guard = RequestGuard(POLICY)
    body, blocked = guard.inbound(chat("ann@example.com, +44 20 7946 0958, host 10.0.0.1"))
    assert blocked == []
    assert body["messages"][0]["content"] == "<EMAIL_1>, [PHONE], host 10.0.0.1"
    assert guard.found == {Kind.EMAIL: 1, Kind.PHONE: 1}


def test_a_blocked_kind_stops_the_request_and_is_named_without_its_value() -> None:
    guard = RequestGuard(POLICY)
    original = chat("SSN 123-45-6789 for ann@example.com")
    body, blocked = guard.inbound(original)
    assert blocked == [Kind.US_SSN]
    assert body is original
    message = blocked_message(blocked)
    assert "US_SSN" in message and "123-45-6789" not in message


def test_the_answer_gets_originals_back_and_new_pii_redacted() -> None:
    guard = RequestGuard(POLICY)
    guard.inbound(chat("I am ann@example.com"))
    out = guard.outbound(answer("Hello <EMAIL_1>, call me on 555-123-4567 or mail x@y.io"))
    # PHONE is redacted on the way out too; EMAIL is pseudonymised, so a new one passes.
    content = out["choices"][0]["message"]["content"]
    assert content == "Hello ann@example.com, call me on [PHONE] or mail x@y.io"


def test_a_blocked_kind_in_an_answer_is_redacted() -> None:
    guard = RequestGuard(POLICY)
    out = guard.outbound(answer("Your SSN is 123-45-6789."))
    assert out["choices"][0]["message"]["content"] == "Your SSN is [US_SSN]."


def test_the_stream_guard_follows_the_same_rules() -> None:
    guard = RequestGuard(POLICY)
    guard.inbound(chat("I am ann@example.com"))
    stream = guard.stream_guard()
    parts = [stream.feed(t) for t in ("Hi <EMA", "IL_1>, ring 555-12", "3-4567.")]
    assert "".join(parts) + stream.flush() == "Hi ann@example.com, ring [PHONE]."


def test_numbering_is_shared_by_the_request_and_its_answer() -> None:
    guard = RequestGuard(PiiActions({Kind.PHONE: Action.REDACT}, numbered=True))
    body, _ = guard.inbound(chat("mine 555-123-4567, hers 555-765-4321"))
    assert body["messages"][0]["content"] == "mine [PHONE_1], hers [PHONE_2]"
    out = guard.outbound(answer("so 555-765-4321 and 020 7946 0958"))
    assert out["choices"][0]["message"]["content"] == "so [PHONE_2] and [PHONE_3]"


def test_a_policy_that_allows_everything_touches_nothing() -> None:
    guard = RequestGuard(PiiActions.parse({"EMAIL": "allow"}))
    body = chat("ann@example.com")
    assert guard.inbound(body) == (body, [])
    reply = answer("ann@example.com")
    assert guard.outbound(reply) is reply
    assert guard.pseudonymiser is None


def test_parse_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="unknown PII kind 'NAME'"):
        PiiActions.parse({"NAME": "redact"})
    with pytest.raises(ValueError, match="unknown PII action 'hide'"):
        PiiActions.parse({"EMAIL": "hide"})


def test_person_needs_a_recogniser() -> None:
    with pytest.raises(ValueError, match="PERSON needs a recogniser"):
        PiiActions.parse({"PERSON": "redact"})

    def names(text: str) -> list[Entity]:
        at = text.find("Jane Doe")
        return [Entity(Kind.PERSON, at, at + 8)] if at >= 0 else []

    guard = RequestGuard(PiiActions.parse({"PERSON": "pseudonymise"}, ner=names))
    body, _ = guard.inbound(chat("Write to Jane Doe today"))
    assert body["messages"][0]["content"] == "Write to <PERSON_1> today"
    assert guard.outbound(answer("Dear <PERSON_1>,"))["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Dear Jane Doe,",
    }

"""A data class's own identifiers: pattern, checksum, context words, and their placeholders."""

from __future__ import annotations

import pytest

from keel.config.security import Checksum
from keel.guard.pii import (
    Action,
    Kind,
    PiiActions,
    Pseudonymiser,
    RequestGuard,
    StreamGuard,
    redact,
)
from keel.guard.pii.checksums import CHECKSUMS
from keel.guard.pii.custom import custom_kind

EMPLOYEE = custom_kind("EMPLOYEE_ID", r"EMP-[0-9]{6}")
# 7 digits and a mod-11 check digit, only next to "customer" or "Kunde".
CUSTOMER = custom_kind("CUSTOMER_ID", r"[0-9]{8}", "mod11", ["customer", "Kunde"], window=20)


def test_a_custom_kind_is_found_and_named_in_its_placeholder() -> None:
    text = "Ask EMP-123456 or EMP-654321, not EMP-12."
    assert redact(text, {EMPLOYEE}) == "Ask [EMPLOYEE_ID] or [EMPLOYEE_ID], not EMP-12."
    assert redact(text, {EMPLOYEE}, numbered=True).startswith(
        "Ask [EMPLOYEE_ID_1] or [EMPLOYEE_ID_2]"
    )


def test_pseudonyms_of_a_custom_kind_are_restored() -> None:
    p = Pseudonymiser({EMPLOYEE})
    hidden = p.pseudonymise("Ask EMP-123456 about it")
    assert hidden == "Ask <EMPLOYEE_ID_1> about it"
    assert p.restore("I asked <EMPLOYEE_ID_1>.") == "I asked EMP-123456."


def test_the_checksum_and_the_context_words_must_both_hold() -> None:
    assert redact("customer 12345674 called", {CUSTOMER}) == "customer [CUSTOMER_ID] called"
    assert redact("12345674 is Kunde", {CUSTOMER}) == "[CUSTOMER_ID] is Kunde"  # after, too
    assert redact("customer 12345675 called", {CUSTOMER}) == "customer 12345675 called"
    assert redact("order 12345674 shipped", {CUSTOMER}) == "order 12345674 shipped"
    far = "customer, as we discussed at length, 12345674"
    assert redact(far, {CUSTOMER}) == far


def test_custom_kinds_sit_beside_the_built_in_ones() -> None:
    guard = RequestGuard(PiiActions({EMPLOYEE: Action.REDACT, Kind.EMAIL: Action.REDACT}))
    body = {"messages": [{"role": "user", "content": "EMP-123456, a@b.de"}]}
    sent, _ = guard.inbound(body)
    assert sent["messages"][0]["content"] == "[EMPLOYEE_ID], [EMAIL]"
    guard = RequestGuard(PiiActions({EMPLOYEE: Action.BLOCK, Kind.EMAIL: Action.REDACT}))
    assert guard.inbound(body)[1] == ["EMPLOYEE_ID"]


def test_a_stream_waits_for_context_words_that_may_follow() -> None:
    guard = StreamGuard({CUSTOMER})
    out = guard.feed("id 12345674 (") + guard.feed("Kunde)") + guard.flush()
    assert out == "id [CUSTOMER_ID] (Kunde)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "EMP-[0-9"}, "not a valid regular expression"),
        ({"pattern": "[0-9]*"}, "matches the empty string"),
        ({"pattern": "[0-9]{6}", "checksum": "crc32"}, "unknown checksum 'crc32'"),
        ({"pattern": "[0-9]{6}", "window": 500}, "window must be between"),
    ],
)
def test_a_bad_recogniser_is_refused_saying_why(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        custom_kind("X_ID", **kwargs)  # type: ignore[arg-type]


def test_the_config_offers_exactly_the_checksums_the_guard_has() -> None:
    assert set(Checksum.__args__) == set(CHECKSUMS)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("luhn", "4111111111111111", True),
        ("verhoeff", "2363", True),
        ("verhoeff", "2364", False),
        ("mod97", "370400440532013000131489", True),  # an IBAN, rearranged
        ("mod11", "12345674", True),
        ("mod11", "12345675", False),
        ("mod11_10", "12345678903", True),
        ("gs1", "4006381333931", True),
        ("gs1", "4006381333932", False),
        ("elevenproof", "111222333", True),
        ("luhn", "EMP-42", False),  # letters: no digits-only check passes them
    ],
)
def test_named_checksums(name: str, value: str, ok: bool) -> None:
    assert CHECKSUMS[name](value) is ok

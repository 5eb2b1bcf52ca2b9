"""The stream guard: PII split across chunks is still caught, and safe text is not held."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from keel.guard.pii import Kind, Pseudonymiser, StreamGuard, redact
from keel.guard.pii.stream import MAX_HOLD

KINDS = frozenset(Kind) - {Kind.PERSON}


def run(guard: StreamGuard, chunks: list[str]) -> list[str]:
    return [guard.feed(c) for c in chunks] + [guard.flush()]


def test_an_email_split_across_chunks_is_redacted_whole() -> None:
    out = run(StreamGuard(KINDS), ["Write to john.doe@exam", "ple.com today"])
    assert out == ["Write to ", "[EMAIL] ", "today"]


def test_a_phone_split_between_its_groups() -> None:
    out = run(StreamGuard(KINDS), ["Call +44 20 ", "7946", " 0958 now"])
    assert "".join(out) == "Call [PHONE] now"
    assert out[0] == "Call "  # "+44 20 " could still grow: held


def test_card_and_iban_split_digit_by_digit() -> None:
    text = "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00."
    assert "".join(run(StreamGuard(KINDS), list(text))) == "Card [CARD], IBAN [IBAN]."


def test_the_context_of_a_date_of_birth_may_be_long_gone() -> None:
    out = run(StreamGuard(KINDS), ["She was born on", " ", "12 Mar", "ch 1980 in Leeds"])
    assert "".join(out) == "She was born on [DOB] in Leeds"
    assert out[0] == "She was born "  # "on" may yet be on@example.com


def test_a_date_waits_for_the_words_that_may_make_it_a_date_of_birth() -> None:
    guard = StreamGuard(KINDS)
    assert guard.feed("Ich bin am 12.03.1980") == "Ich bin am "
    assert guard.feed(" in Berlin") == ""
    assert guard.feed(" geboren, ja.") == "[DOB] in Berlin geboren, "
    other = StreamGuard(KINDS)
    out = [other.feed("Meeting on 12.03.2020"), other.feed(" at noon in the big room, thanks")]
    assert out == ["Meeting on ", "12.03.2020 at noon in the big room, "]


def test_text_is_forwarded_as_soon_as_no_entity_can_be_forming() -> None:
    guard = StreamGuard(KINDS)
    assert guard.feed("Hello there, how ") == "Hello there, how "
    assert guard.feed("are you") == "are "  # "you" may still become you@example.com
    assert guard.feed(" doing?\n") == "you doing?\n"
    assert guard.held == 0


def test_the_held_tail_never_exceeds_the_bound() -> None:
    guard = StreamGuard(KINDS, Pseudonymiser())
    out = []
    for ch in "1 2 3 4 5 6 7 8 9 " * 20 + "AAAA" * 40:
        out.append(guard.feed(ch))
        assert guard.held <= MAX_HOLD
    out.append(guard.flush())
    assert guard.held == 0
    assert "".join(out) == "1 2 3 4 5 6 7 8 9 " * 20 + "AAAA" * 40


def test_placeholders_split_across_chunks_are_restored() -> None:
    p = Pseudonymiser()
    p.pseudonymise("ann@example.com")
    out = run(StreamGuard(pseudonymiser=p), ["Dear <", "EMA", "IL_1", ">, and <b>bye</b>"])
    assert out == ["Dear ", "", "", "ann@example.com, and <b>bye</b>", ""]


def test_restore_only_holds_nothing_but_an_open_placeholder() -> None:
    p = Pseudonymiser()
    p.pseudonymise("ann@example.com")
    guard = StreamGuard(pseudonymiser=p)
    assert guard.feed("call 555-123-4567 or ann@exa") == "call 555-123-4567 or ann@exa"


def test_flush_releases_what_is_held() -> None:
    guard = StreamGuard(KINDS)
    assert guard.feed("mail: ann@example.com") == "mail: "
    assert guard.flush() == "[EMAIL]"
    assert guard.flush() == ""


def test_apply_is_the_guard_on_a_whole_text() -> None:
    p = Pseudonymiser()
    p.pseudonymise("ann@example.com")
    guard = StreamGuard({Kind.PHONE}, p, numbered=True)
    assert guard.apply("<EMAIL_1>: 555-123-4567") == "ann@example.com: [PHONE_1]"


FRAGMENTS = [
    "john.doe@example.com",
    "+44 20 7946 0958",
    "(555) 123-4567",
    "0151 23456789",
    "01 23 45 67 89",
    "4111 1111 1111 1111",
    "4111 1111 1111 1112",
    "DE89 3704 0044 0532 0130 00",
    "GB82 WEST 1234 5698 7654 32",
    "192.168.1.1",
    "2001:db8::8a2e:370:7334",
    "123-45-6789",
    "000-12-3456",
    "AB 12 34 56 C",
    "36 574 261 809",
    "born on",
    "geboren.",
    "SSN",
    "123456789",
    "(030) 1234567",
    "0049 30 1234567",
    "12 March 1980",
    "12.03.1980",
    "geboren am",
    "version 1.2.3.4",
    "<EMAIL_1>",
    "<PHONE_9>",
    "tel:+49 30 1234567",
    "order 12345",
    "the",
    "Mar",
    "ok",
    "AB",
    "12",
    "<",
    "@",
]
SEPARATORS = [" ", " ", " ", "", "\n", ", ", ". ", "  "]


@st.composite
def stream_case(draw: st.DrawFn) -> tuple[str, list[int]]:
    pieces = draw(st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS))))
    text = "".join(a + b for a, b in pieces)
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=12))
    return text, sorted(cuts)


def split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=400, deadline=None)
@given(stream_case(), st.booleans())
def test_any_split_gives_the_result_of_the_whole_text(
    case: tuple[str, list[int]], numbered: bool
) -> None:
    text, cuts = case
    p = Pseudonymiser()
    p.pseudonymise("john.doe@example.com")
    guard = StreamGuard(KINDS, p, numbered=numbered)
    streamed = "".join(run(guard, split(text, cuts)))
    assert streamed == p.restore(redact(text, KINDS, numbered=numbered))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789 .-/:@+()ABCDEZabcmoé<>_\n,", max_size=200), st.data())
def test_any_split_of_any_text_gives_the_result_of_the_whole_text(
    text: str, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=20)))
    guard = StreamGuard(KINDS)
    assert "".join(run(guard, split(text, cuts))) == redact(text, KINDS)

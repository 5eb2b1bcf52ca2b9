"""Canonical JSON: one byte form per value, by the documented rules."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.audit.canonical import canonical, sha256_hex


def test_keys_are_sorted_at_every_depth_without_whitespace() -> None:
    value = {"b": 1, "a": {"d": [3, {"z": 0, "y": 1}], "c": None}}
    assert canonical(value) == b'{"a":{"c":null,"d":[3,{"y":1,"z":0}]},"b":1}'


def test_keys_sort_by_code_point_not_utf16() -> None:
    # U+FFFF sorts before U+1F600 by code point; UTF-16 (RFC 8785) would put it after.
    assert canonical({"\U0001f600": 1, "\uffff": 2, "Z": 3, "a": 4}) == (
        '{"Z":3,"a":4,"\uffff":2,"\U0001f600":1}'.encode()
    )


def test_text_is_utf8_and_only_quotes_backslashes_and_controls_are_escaped() -> None:
    assert canonical('é/"\\\n\x01') == b'"\xc3\xa9/\\"\\\\\\n\\u0001"'


def test_numbers_take_their_shortest_form() -> None:
    assert canonical([1, -0, 1.0, 0.1, 1e20, 1e-7, 2**63 - 1]) == (
        b"[1,0,1.0,0.1,1e+20,1e-7,9223372036854775807]"
    )


def test_nan_and_infinity_are_null() -> None:
    assert canonical([float("nan"), float("inf")]) == b"[null,null]"


@dataclasses.dataclass
class Point:
    x: int


class Name(str):
    pass


@pytest.mark.parametrize(
    "value",
    [datetime.datetime(2026, 1, 1), Point(1), {1, 2}, {1: "a"}, Name("x"), 2**64, b"bytes"],
    ids=["datetime", "dataclass", "set", "int key", "str subclass", "huge int", "bytes"],
)
def test_what_json_cannot_hold_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        canonical(value)


def test_a_known_record_hashes_to_a_known_digest() -> None:
    record = {"seq": 1, "request_id": "r1", "cost_usd": 0.25, "user": "zoë"}
    text = canonical(record)
    assert text == '{"cost_usd":0.25,"request_id":"r1","seq":1,"user":"zoë"}'.encode()
    # Worked out once by hand (sha256sum of that line); any change to the rules changes it.
    assert sha256_hex(text) == "8d6fe0a16ea5b83a0f6251dcc8d9f5b8ba3d61055ce2e47014ad92c46b2a9f7d"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@given(json_values)
def test_reading_back_and_writing_again_gives_the_same_bytes(value: Any) -> None:
    text = canonical(value)
    assert canonical(orjson.loads(text)) == text

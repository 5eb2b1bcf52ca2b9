"""Every request header keel reads has a cap, checked before any of them is read: over it is a
431 that names the header and the cap; at it, the header is read as usual."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from keel.errors import HeaderTooLarge
from keel.gateway.edge import HEADER_LIMITS, check_headers


def headers(*pairs: tuple[bytes, bytes]) -> Headers:
    return Headers(raw=[(b"host", b"keel"), *pairs])


@pytest.mark.parametrize("name", list(HEADER_LIMITS), ids=lambda n: n.decode())
def test_each_header_keel_reads_is_capped(name: bytes) -> None:
    most = HEADER_LIMITS[name]
    check_headers(headers((name, b"x" * most)))  # at the cap: read as usual
    with pytest.raises(HeaderTooLarge) as caught:
        check_headers(headers((name, b"x" * (most + 1))))
    assert caught.value.status == 431 and caught.value.code == "header_too_large"
    assert caught.value.param == name.decode()
    assert f"at most {most} bytes" in caught.value.message


def test_a_second_copy_of_a_header_counts_too() -> None:
    short, long = b"Bearer sk-x", b"Bearer " + b"a" * 3_000_000
    with pytest.raises(HeaderTooLarge, match="authorization"):
        check_headers(headers((b"authorization", short), (b"authorization", long)))


def test_headers_keel_does_not_read_are_left_to_the_server() -> None:
    check_headers(headers((b"x-trace", b"t" * 100_000), (b"user-agent", b"u" * 50_000)))


def test_the_message_says_what_to_send() -> None:
    with pytest.raises(HeaderTooLarge) as caught:
        check_headers(headers((b"x-api-key", b"k" * 20_000)))
    assert "20000 bytes" in caught.value.message and "API key" in caught.value.message

"""The token verifier on its own, against a real JWKS file and real signatures: every forged,
mismatched or malformed token is an ``AuthenticationError`` (401) that says why, never another
exception (a 500); the tokens issuers really send still pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from keel.config.security import OIDCConfig
from keel.errors import AuthenticationError
from keel.identity.jwks import parse_jwks
from keel.identity.tokens import TokenVerifier
from tests.identity.jwts import (
    ACCEPTED,
    ALGORITHMS,
    ATTACKS,
    AUDIENCE,
    ISSUER,
    Ring,
    good,
    make_ring,
    public_jwk,
)


@pytest.fixture(scope="module")
def ring() -> Ring:
    return make_ring()


@pytest.fixture
def verifier(ring: Ring, tmp_path: Path) -> TokenVerifier:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(ring.jwks))
    config = OIDCConfig(
        issuer=ISSUER, audience=AUDIENCE, jwks_file=str(jwks), algorithms=ALGORITHMS
    )
    return TokenVerifier(config)


@pytest.mark.parametrize(
    ("make", "code", "words"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
async def test_a_bad_token_is_refused_saying_why(
    verifier: TokenVerifier, ring: Ring, make: Callable[[Ring], str], code: str, words: str
) -> None:
    token = make(ring)
    with pytest.raises(AuthenticationError) as caught:
        await verifier.verify(token)
    assert caught.value.status == 401 and caught.value.code == code
    assert words in caught.value.message, caught.value.message
    assert token not in caught.value.message  # a token is never echoed back
    assert len(caught.value.message) < 400  # nothing the caller sent is echoed at length


@pytest.mark.parametrize("make", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
async def test_what_issuers_send_is_accepted(
    verifier: TokenVerifier, ring: Ring, make: Callable[[Ring], str]
) -> None:
    claims = await verifier.verify(make(ring))
    assert claims["team"] == "t" and claims["iss"] == ISSUER


def test_a_published_key_that_cannot_be_read_is_named(ring: Ring) -> None:
    broken = {"kty": "RSA", "kid": "broken", "n": 5, "e": "AQAB"}
    fine = {**public_jwk(ring.keys["rsa"]), "kid": "fine"}
    keys = parse_jwks({"keys": [broken, fine, "not a key", {"kty": "RSA"}]})
    assert set(keys) == {"broken", "fine"}
    assert keys["fine"][0].problem is None
    assert "kid 'broken'" in str(keys["broken"][0].problem)
    assert "cannot be read" in str(keys["broken"][0].problem)


@pytest.mark.parametrize(
    "jwks",
    [{"keys": [{"kty": "XYZ", "kid": "a"}]}, {"keys": []}, {"nokeys": 1}, ["a list"]],
    ids=["only-unusable", "empty", "no-keys", "not-an-object"],
)
async def test_a_jwks_with_no_usable_key_is_said_to_be_unreadable(
    tmp_path: Path, ring: Ring, jwks: object
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    verifier = TokenVerifier(OIDCConfig(issuer=ISSUER, audience=AUDIENCE, jwks_file=str(path)))
    with pytest.raises(AuthenticationError) as caught:
        await verifier.verify(good(ring))
    assert caught.value.code == "jwks_unavailable"

"""Tokens made by hand, good and hostile, for the token tests (unit and end to end).

An issuer's key ring of every kind keel meets in a JWKS (RSA with and without ``alg``/``use``,
EC P-256 and P-384, Ed25519, an encryption key, a key type nobody knows), a signer that signs
any header and claims bytes with any of them, and ``ATTACKS``: the table of forged or broken
tokens that must each be refused with a 401 that says why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm, RSAPSSAlgorithm

ISSUER, AUDIENCE = "https://login.example.test/", "keel"
ALGORITHMS = ["RS256", "RS384", "ES256", "ES384", "PS256"]  # what the tests' keel accepts

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_SIGNERS: dict[str, Any] = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "RS384": RSAAlgorithm(RSAAlgorithm.SHA384),
    "PS256": RSAPSSAlgorithm(RSAPSSAlgorithm.SHA256),
    "ES256": ECAlgorithm(ECAlgorithm.SHA256),
    "ES384": ECAlgorithm(ECAlgorithm.SHA384),
    "EdDSA": OKPAlgorithm(),
}


@dataclass(frozen=True)
class Ring:
    """The issuer's private keys by kid, and the JWKS it publishes for them."""

    keys: dict[str, PrivateKey]
    jwks: dict[str, Any]


def make_ring() -> Ring:
    keys: dict[str, PrivateKey] = {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "rsa-bare": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "enc": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "ec384": ec.generate_private_key(ec.SECP384R1()),
        "ed": ed25519.Ed25519PrivateKey.generate(),
    }
    published = [
        {**public_jwk(keys["rsa"]), "kid": "rsa", "use": "sig", "alg": "RS256"},
        {**public_jwk(keys["rsa-bare"]), "kid": "rsa-bare"},  # no alg, no use: many issuers
        {**public_jwk(keys["enc"]), "kid": "enc", "use": "enc", "alg": "RSA-OAEP"},
        {**public_jwk(keys["ec"]), "kid": "ec", "use": "sig", "alg": "ES256"},
        {**public_jwk(keys["ec384"]), "kid": "ec384"},
        {**public_jwk(keys["ed"]), "kid": "ed", "use": "sig"},
        {"kty": "XYZ", "kid": "weird", "x": "AAAA"},  # a key type no library knows
        # RFC 7517 4.5: keys of different types may share a kid; the token's alg picks one.
        {**public_jwk(keys["rsa-bare"]), "kid": "twin"},
        {**public_jwk(keys["ec"]), "kid": "twin", "alg": "ES256"},
    ]
    return Ring(keys, {"keys": published})


def public_jwk(key: PrivateKey) -> dict[str, Any]:
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return dict(RSAAlgorithm.to_jwk(public, as_dict=True))
    if isinstance(public, ec.EllipticCurvePublicKey):
        return dict(ECAlgorithm.to_jwk(public, as_dict=True))
    return dict(OKPAlgorithm.to_jwk(public, as_dict=True))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_DROP = object()  # claims(exp=_DROP): leave the claim out


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ada", "team": "t", "iat": now, "exp": now + 300}
    return {k: v for k, v in {**base, **overrides}.items() if v is not _DROP}


def sign(
    key: PrivateKey,
    header: dict[str, Any] | bytes,
    body: dict[str, Any] | bytes | None = None,
    signer: str | None = None,
) -> str:
    """A compact JWS of ``header`` and ``body`` (dicts, or raw bytes as they should appear),
    signed by ``key`` with ``signer`` (default: the header's own ``alg``)."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    payload = claims() if body is None else body
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = b64(head) + "." + b64(raw)
    alg = signer or (header["alg"] if isinstance(header, dict) else "RS256")
    signature = _SIGNERS[alg].sign(signing_input.encode(), key)
    return signing_input + "." + b64(signature)


def good(ring: Ring, kid: str = "rsa", alg: str = "RS256", **extra: Any) -> str:
    return sign(ring.keys[kid], {"alg": alg, "typ": "JWT", "kid": kid}, claims(**extra))


def _hmac_with_public_key(ring: Ring) -> str:
    """Key confusion: an HMAC "signed" with the issuer's public key, which anyone has."""
    public = ring.keys["rsa"].public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa"}).encode())
    signing_input = head + "." + b64(json.dumps(claims()).encode())
    return signing_input + "." + b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())


def _header(ring: Ring, header: dict[str, Any] | bytes, kid: str = "rsa") -> str:
    return sign(ring.keys[kid], header, claims(), signer="RS256")


def _timed(**times: Any) -> Callable[[Ring], str]:
    return lambda ring: good(ring, **times)


def _raw_claims(raw: bytes) -> Callable[[Ring], str]:
    return lambda ring: sign(ring.keys["rsa"], {"alg": "RS256", "kid": "rsa"}, raw)


def _times_json(exp: str) -> bytes:
    text = json.dumps(claims(exp=_DROP))[:-1] + f', "exp": {exp}}}'
    return text.encode()


_RS = {"alg": "RS256", "typ": "JWT"}
_NOW = int(time.time())

#: (name, token maker, the error code, words the message must contain)
ATTACKS: list[tuple[str, Callable[[Ring], str], str, str]] = [
    # The algorithm the header names against the key it names (issue 12: RS256 on an EC key).
    (
        "rs256-on-an-ec-key",
        lambda r: sign(r.keys["ec"], {**_RS, "kid": "ec"}, signer="ES256"),
        "invalid_token",
        "RS256",
    ),
    (
        "rs256-on-an-ed25519-key",
        lambda r: sign(r.keys["ed"], {**_RS, "kid": "ed"}, signer="EdDSA"),
        "invalid_token",
        "RS256",
    ),
    (
        "es256-on-an-rsa-key",
        lambda r: sign(r.keys["rsa-bare"], {"alg": "ES256", "kid": "rsa-bare"}, signer="RS256"),
        "invalid_token",
        "ES256",
    ),
    (
        "es256-on-a-p384-key",
        lambda r: sign(r.keys["ec384"], {"alg": "ES256", "kid": "ec384"}, signer="ES384"),
        "invalid_token",
        "P-384",
    ),
    (
        "ps256-on-a-key-published-for-rs256",
        lambda r: good(r, alg="PS256"),
        "invalid_token",
        "RS256",
    ),
    ("a-key-published-for-encryption", lambda r: good(r, kid="enc"), "invalid_token", "enc"),
    # Algorithms keel never accepts.
    (
        "alg-none",
        lambda r: (
            b64(json.dumps({"alg": "none", "kid": "rsa"}).encode())
            + "."
            + b64(json.dumps(claims()).encode())
            + "."
        ),
        "invalid_token",
        "algorithm 'none'",
    ),
    ("hs256-keyed-with-the-public-key", _hmac_with_public_key, "invalid_token", "HS256"),
    ("eddsa-not-configured", lambda r: good(r, kid="ed", alg="EdDSA"), "invalid_token", "EdDSA"),
    ("no-alg", lambda r: _header(r, {"kid": "rsa"}), "invalid_token", "algorithm None"),
    (
        "non-string-alg",
        lambda r: _header(r, {"alg": ["RS256"], "kid": "rsa"}),
        "invalid_token",
        "algorithm",
    ),
    # Which key: kid.
    ("unknown-kid", lambda r: _header(r, {**_RS, "kid": "nope"}), "invalid_token", "kid 'nope'"),
    ("no-kid", lambda r: _header(r, _RS), "invalid_token", "kid"),
    ("non-string-kid", lambda r: _header(r, {**_RS, "kid": 7}), "invalid_token", "Key ID"),
    (
        "kid-of-an-unusable-key",
        lambda r: _header(r, {**_RS, "kid": "weird"}),
        "invalid_token",
        "kty 'XYZ'",
    ),
    (
        "a-stranger-signs-under-a-published-kid",
        lambda r: sign(r.keys["rsa-bare"], {**_RS, "kid": "rsa"}),
        "invalid_token",
        "signature",
    ),
    (
        "an-embedded-jwk-is-not-trusted",
        lambda r: sign(
            r.keys["rsa-bare"],
            {
                **_RS,
                "kid": "rsa",
                "jwk": public_jwk(r.keys["rsa-bare"]),
                "jku": "https://evil.example.test/jwks.json",
            },
        ),
        "invalid_token",
        "signature",
    ),
    # Headers keel cannot honour.
    (
        "crit-names-an-extension",
        lambda r: _header(r, {**_RS, "kid": "rsa", "crit": ["exp"], "exp": 1}),
        "invalid_token",
        "crit",
    ),
    (
        "crit-b64-detached",
        lambda r: _header(r, {**_RS, "kid": "rsa", "crit": ["b64"], "b64": False}),
        "invalid_token",
        "b64",
    ),
    (
        "crit-b64-with-no-payload",
        lambda r: sign(r.keys["rsa"], {**_RS, "kid": "rsa", "crit": ["b64"], "b64": False}, b""),
        "invalid_token",
        "crit",
    ),
    (
        "typ-of-a-logout-token",
        lambda r: _header(r, {**_RS, "kid": "rsa", "typ": "logout+jwt"}),
        "invalid_token",
        "typ",
    ),
    (
        "non-string-typ",
        lambda r: _header(r, {**_RS, "kid": "rsa", "typ": 1}),
        "invalid_token",
        "typ",
    ),
    # Bytes that are not a JWT.
    (
        "header-not-json",
        lambda r: _header(r, b'{"alg": RS256, kid: rsa}'),
        "invalid_token",
        "well-formed",
    ),
    (
        "header-nested-5000-deep",
        lambda r: _header(r, b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        "invalid_token",
        "well-formed",
    ),
    (
        "kid-10000-characters",
        lambda r: _header(r, {**_RS, "kid": "k" * 10_000}),
        "invalid_token",
        "kid 'kkkk",
    ),
    ("not-base64", lambda r: "eyJhbGciOiJSUzI1NiJ9.!!!$$$.***", "invalid_token", "well-formed"),
    ("claims-not-an-object", _raw_claims(b"[1, 2, 3]"), "invalid_token", "claims"),
    ("claims-not-json", _raw_claims(b"exp=1"), "invalid_token", "claims"),
    # Claims of the wrong kind or value.
    ("exp-a-string", _timed(exp=str(_NOW + 300)), "invalid_token", "exp"),
    ("exp-true", _timed(exp=True), "invalid_token", "exp"),
    ("exp-null", _timed(exp=None), "invalid_token", "exp"),
    ("exp-missing", _timed(exp=_DROP), "invalid_token", "exp"),
    ("exp-infinite", _raw_claims(_times_json("1e400")), "invalid_token", "exp"),
    ("exp-nan", _raw_claims(_times_json("NaN")), "invalid_token", "exp"),
    ("exp-a-list", _timed(exp=[_NOW + 300]), "invalid_token", "exp"),
    ("nbf-a-string", _timed(nbf="0"), "invalid_token", "nbf"),
    ("nbf-false", _timed(nbf=False), "invalid_token", "nbf"),
    ("iat-a-string", _timed(iat="now"), "invalid_token", "iat"),
    ("iat-in-the-future", _timed(iat=_NOW + 3600), "token_not_yet_valid", "iat"),
    ("expired", _timed(exp=_NOW - 3600), "expired_token", "expired"),
    ("not-yet-valid", _timed(nbf=_NOW + 3600), "token_not_yet_valid", "nbf"),
    ("wrong-audience", _timed(aud="someone-else"), "invalid_token", "audience"),
    ("audience-not-a-string", _timed(aud=5), "invalid_token", "audience"),
    ("wrong-issuer", _timed(iss="https://evil.example.test/"), "invalid_token", "issuer"),
    ("issuer-not-a-string", _timed(iss=["x"]), "invalid_token", "issuer"),
    ("sub-not-a-string", _timed(sub=12), "invalid_token", "sub"),
]

#: Tokens that must be let in: the same checks must not refuse what issuers really send.
ACCEPTED: list[tuple[str, Callable[[Ring], str]]] = [
    ("rs256", lambda r: good(r)),
    ("rs384-on-a-key-with-no-alg", lambda r: good(r, kid="rsa-bare", alg="RS384")),
    ("ps256-on-a-key-with-no-alg", lambda r: good(r, kid="rsa-bare", alg="PS256")),
    ("es256", lambda r: good(r, kid="ec", alg="ES256")),
    ("es384-on-a-p384-key", lambda r: good(r, kid="ec384", alg="ES384")),
    ("typ-at+jwt", lambda r: sign(r.keys["rsa"], {"alg": "RS256", "typ": "at+jwt", "kid": "rsa"})),
    ("no-typ", lambda r: sign(r.keys["rsa"], {"alg": "RS256", "kid": "rsa"})),
    ("exp-a-fraction", _timed(exp=_NOW + 86400.5, nbf=_NOW - 0.5)),
    ("aud-a-list", _timed(aud=["other", AUDIENCE])),
    (
        "rsa-key-of-a-shared-kid",
        lambda r: sign(r.keys["rsa-bare"], {"alg": "RS256", "kid": "twin"}),
    ),
    ("ec-key-of-a-shared-kid", lambda r: sign(r.keys["ec"], {"alg": "ES256", "kid": "twin"})),
]

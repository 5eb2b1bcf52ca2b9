"""Signing keys as config gives them: PEM or base64, anything else refused saying why."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from keel.audit.keys import private_pem, public_b64
from keel.config.ed25519 import load_private, load_public
from tests.audit.test_keys import raw_private


def test_a_private_key_reads_from_pem_and_from_base64() -> None:
    key = Ed25519PrivateKey.generate()
    from_pem = load_private(private_pem(key).decode())
    from_b64 = load_private(base64.b64encode(raw_private(key)).decode() + "\n")
    assert raw_private(from_pem) == raw_private(from_b64) == raw_private(key)


def test_a_public_key_reads_from_pem_and_from_base64() -> None:
    public = Ed25519PrivateKey.generate().public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert load_public(pem) == public
    assert load_public(public_b64(public)) == public


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not a key", "base64 of 32 raw bytes"),
        (base64.b64encode(b"x" * 31).decode(), "base64 of 32 raw bytes"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "readable"),
    ],
)
def test_a_bad_private_key_is_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        load_private(text)


def test_a_key_of_another_kind_is_refused() -> None:
    rsa = generate_private_key(public_exponent=65537, key_size=1024)
    pem = rsa.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        load_private(pem)

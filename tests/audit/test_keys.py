"""Signing keys: PEM or base64 from config, or made once by keel (mode 0600, race-free)."""

from __future__ import annotations

import base64
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from keel.audit.keys import (
    fingerprint,
    load_or_create,
    load_private,
    load_public,
    private_pem,
    public_b64,
)

RAW = serialization.Encoding.Raw


def raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())


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


def test_the_fingerprint_is_the_default_key_id() -> None:
    a, b = (Ed25519PrivateKey.generate().public_key() for _ in range(2))
    assert fingerprint(a).startswith("ed25519:") and len(fingerprint(a)) == 8 + 16
    assert fingerprint(a) == fingerprint(load_public(public_b64(a))) != fingerprint(b)


def test_a_key_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "store" / "audit-ed25519.pem"
    key, made = load_or_create(path)
    assert made and stat.S_IMODE(path.stat().st_mode) == 0o600
    again, made_again = load_or_create(path)
    assert not made_again and raw_private(again) == raw_private(key)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no draft left behind


def test_workers_starting_together_end_up_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "audit-ed25519.pem"
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        keys.append(raw_private(load_or_create(path)[0]))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert raw_private(load_private(path.read_text())) == keys[0]

"""Signing keys: made once by keel (mode 0600, race-free), named by a fingerprint."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keel.audit.keys import fingerprint, load_or_create, public_b64
from keel.config.ed25519 import load_private, load_public

RAW = serialization.Encoding.Raw


def raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())


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

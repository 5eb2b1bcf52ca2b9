"""Checkpoints: a chain head signed with Ed25519, verified by key id."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keel.audit.canonical import canonical
from keel.audit.checkpoint import Signer, Verifier, signed_bytes
from keel.store.audit import CheckpointRow, Head

KEY = Ed25519PrivateKey.generate()


def signed(key: Ed25519PrivateKey = KEY, key_id: str = "k1") -> CheckpointRow:
    return CheckpointRow(**Signer(key, key_id).checkpoint("w", Head(7, "ab" * 32)))


def test_a_checkpoint_signs_writer_seq_head_ts_and_key_id() -> None:
    row = signed()
    assert (row.writer, row.seq, row.head, row.key_id) == ("w", 7, "ab" * 32, "k1")
    payload = canonical({"head": row.head, "key_id": "k1", "seq": 7, "ts": row.ts, "writer": "w"})
    assert signed_bytes("w", 7, row.head, row.ts, "k1") == payload
    KEY.public_key().verify(base64.b64decode(row.signature), payload)  # raises if not


def test_a_good_checkpoint_verifies() -> None:
    assert Verifier({"k1": KEY.public_key()}).problem(signed()) is None


@pytest.mark.parametrize(
    "change",
    [{"seq": 8}, {"head": "cd" * 32}, {"ts": 0.0}, {"writer": "other"}, {"signature": "!!"}],
    ids=["seq", "head", "ts", "writer", "garbled signature"],
)
def test_any_changed_field_breaks_the_signature(change: dict[str, object]) -> None:
    row = dataclasses.replace(signed(), **change)  # type: ignore[arg-type]
    assert "does not verify" in (Verifier({"k1": KEY.public_key()}).problem(row) or "")


def test_a_checkpoint_by_another_key_under_a_known_id_does_not_verify() -> None:
    forged = signed(Ed25519PrivateKey.generate(), "k1")
    assert "does not verify" in (Verifier({"k1": KEY.public_key()}).problem(forged) or "")


def test_an_unknown_key_id_is_named_with_the_known_ones() -> None:
    problem = Verifier({"k1": KEY.public_key()}).problem(signed(key_id="k9")) or ""
    assert "'k9'" in problem and "known: k1" in problem and "verify_keys" in problem

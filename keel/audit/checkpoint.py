"""Signed checkpoints: a writer's chain head, signed with Ed25519 at a fixed interval.

The signed bytes are the canonical JSON (keel.audit.canonical) of
``{"head", "key_id", "seq", "ts", "writer"}`` and, when set, ``final``, ``n`` and ``vouch``; the
signature is stored in base64. A checkpoint vouches for every record up to ``seq``: recomputing
the chain after an edit cannot reproduce a head that was signed before it.

``n`` numbers a writer's checkpoints 0 (its start), 1, 2 … as they commit, so a deleted one is
a gap. ``vouch`` names the latest checkpoint of each other writer seen in the store since the
writer's previous checkpoint, as ``[writer, n, digest]``: a writer deleted whole, or cut at its
tail together with its checkpoints, is missing what another writer signed that it had seen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.audit.canonical import canonical
from keel.store.audit import CheckpointRow, Head, Vouch

__all__ = ["Signer", "Verifier", "digest", "parse_vouch", "signed_bytes"]


def signed_bytes(
    writer: str,
    seq: int,
    head: str,
    ts: float,
    key_id: str,
    final: bool = False,
    n: int | None = None,
    vouch: str | None = None,
) -> bytes:
    fields: dict[str, Any] = {"writer": writer, "seq": seq, "head": head, "ts": ts,
                              "key_id": key_id}  # fmt: skip
    # Each is signed only when set, so checkpoints from before it verify as they were.
    if final:
        fields["final"] = True
    if n is not None:
        fields["n"] = n
    if vouch is not None:
        fields["vouch"] = vouch
    return canonical(fields)


def digest(row: CheckpointRow) -> str:
    """What a vouch pins a checkpoint by: the first 32 hex digits of its signature's SHA-256."""
    return hashlib.sha256(row.signature.encode()).hexdigest()[:32]


def parse_vouch(text: str | None) -> list[Vouch]:
    """The vouches a checkpoint's ``vouch`` column holds; [] for none or a garbled one (whose
    signature then fails anyway)."""
    if not text:
        return []
    try:
        items = orjson.loads(text)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(items, list):
        return []
    return [
        (w, n, d)
        for item in items
        if isinstance(item, list) and len(item) == 3
        for w, n, d in [item]
        if isinstance(w, str) and type(n) is int and isinstance(d, str)
    ]


class Signer:
    def __init__(self, key: Ed25519PrivateKey, key_id: str) -> None:
        self.key = key
        self.key_id = key_id

    def checkpoint(
        self,
        writer: str,
        head: Head,
        final: bool = False,
        n: int | None = None,
        vouch: list[Vouch] | None = None,
    ) -> dict[str, Any]:
        """A row for the ``audit_checkpoints`` table; ``final`` at a clean stop, ``n`` its
        number, ``vouch`` the other writers' checkpoints seen since the one before."""
        ts = time.time()
        vouched = None if vouch is None else canonical(sorted(list(v) for v in vouch)).decode()
        payload = signed_bytes(writer, head.seq, head.hash, ts, self.key_id, final, n, vouched)
        signature = base64.b64encode(self.key.sign(payload)).decode()
        return {"writer": writer, "seq": head.seq, "head": head.hash, "ts": ts,
                "key_id": self.key_id, "signature": signature, "final": final, "n": n,
                "vouch": vouched}  # fmt: skip


class Verifier:
    """The public keys checkpoints may be signed with, by key id."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self.keys = keys

    def problem(self, row: CheckpointRow) -> str | None:
        """What is wrong with a checkpoint's signature, or None if it is good."""
        key = self.keys.get(row.key_id)
        if key is None:
            known = ", ".join(sorted(self.keys)) or "none"
            return (
                f"it is signed with key id {row.key_id!r}, which is neither audit.key_id nor "
                f"in audit.verify_keys (known: {known}); add its public key to verify_keys"
            )
        payload = signed_bytes(
            row.writer, row.seq, row.head, row.ts, row.key_id, row.final, row.n, row.vouch
        )
        try:
            key.verify(base64.b64decode(row.signature, validate=True), payload)
        except (InvalidSignature, binascii.Error, ValueError):
            return f"its signature does not verify with key {row.key_id!r}: forged or altered"
        return None

"""Signed checkpoints: a writer's chain head, signed with Ed25519 at a fixed interval.

The signed bytes are the canonical JSON (keel.audit.canonical) of
``{"head", "key_id", "seq", "ts", "writer"}``; the signature is stored in base64. A checkpoint
vouches for every record up to ``seq``: recomputing the chain after an edit cannot reproduce a
head that was signed before it.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.audit.canonical import canonical
from keel.audit.chain import Head
from keel.store.base import CheckpointRow

__all__ = ["Signer", "Verifier", "signed_bytes"]


def signed_bytes(
    writer: str, seq: int, head: str, ts: float, key_id: str, final: bool = False
) -> bytes:
    fields: dict[str, Any] = {"writer": writer, "seq": seq, "head": head, "ts": ts,
                              "key_id": key_id}  # fmt: skip
    if final:  # signed only when set, so checkpoints from before it verify as they were
        fields["final"] = True
    return canonical(fields)


class Signer:
    def __init__(self, key: Ed25519PrivateKey, key_id: str) -> None:
        self.key = key
        self.key_id = key_id

    def checkpoint(self, writer: str, head: Head, final: bool = False) -> dict[str, Any]:
        """A row for the ``audit_checkpoints`` table; ``final`` at a clean stop."""
        ts = time.time()
        payload = signed_bytes(writer, head.seq, head.hash, ts, self.key_id, final)
        signature = base64.b64encode(self.key.sign(payload)).decode()
        return {"writer": writer, "seq": head.seq, "head": head.hash, "ts": ts,
                "key_id": self.key_id, "signature": signature, "final": final}  # fmt: skip


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
        payload = signed_bytes(row.writer, row.seq, row.head, row.ts, row.key_id, row.final)
        try:
            key.verify(base64.b64decode(row.signature, validate=True), payload)
        except (InvalidSignature, binascii.Error, ValueError):
            return f"its signature does not verify with key {row.key_id!r}: forged or altered"
        return None

"""Helpers for audit tests: a trail with a known key, and a ledger writing through it."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keel.audit.chain import Chain
from keel.audit.checkpoint import Signer, Verifier
from keel.audit.trail import Trail
from keel.store.base import Store
from keel.store.ledger import Ledger

KEY = Ed25519PrivateKey.generate()
KEY_ID = "k1"


def make_trail(
    key: Ed25519PrivateKey = KEY, key_id: str = KEY_ID, writer: str | None = None
) -> Trail:
    """A trail whose checkpoints come only at start, on ``Ledger.checkpoint`` and at close."""
    chain = Chain(writer or f"test:{secrets.token_hex(3)}")
    return Trail(chain, Signer(key, key_id), checkpoint_s=3600)


def verifier(**keys: Ed25519PrivateKey) -> Verifier:
    """A verifier for ``KEY`` as k1, or for the keys given by id."""
    return Verifier({k: v.public_key() for k, v in (keys or {KEY_ID: KEY}).items()})


def audit_record(i: int, **fields: Any) -> dict[str, Any]:
    return {"kind": "call", "request_id": f"req-{i}", "ts": time.time(), "team": "alpha",
            "model": "chat", "status": 200, "decision": "allowed", "cost_usd": 0.001 * i,
            **fields}  # fmt: skip


@contextlib.asynccontextmanager
async def ledger_on(store: Store, trail: Trail | None = None) -> AsyncIterator[Ledger]:
    """A started ledger keeping a trail (``make_trail()`` unless given), closed afterwards."""
    ledger = Ledger(store, trail=trail or make_trail())
    await ledger.start()
    try:
        yield ledger
    finally:
        await ledger.close()

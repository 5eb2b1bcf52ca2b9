"""The audit trail as the config sets it up: this process's chain, its signer, the verifier.

The ledger (keel.store.ledger) keeps the chain through ``Trail``, which is its
``keel.store.audit.ChainKeeper``: the ledger commits what the trail links and signs, and tells
it what committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.audit import witness
from keel.audit.canonical import canonical
from keel.audit.chain import RESERVED, Chain, new_writer_id
from keel.audit.checkpoint import Signer, Verifier, digest
from keel.audit.keys import fingerprint, load_or_create
from keel.config.ed25519 import load_private, load_public
from keel.config.schema import AuditConfig, KeelConfig
from keel.store.audit import AuditStore, ChainKeeper, Head, Vouch

__all__ = ["KEY_FILE", "Trail", "key_file", "open_trail", "verifier"]

log = logging.getLogger("keel.audit")

KEY_FILE = "audit-ed25519.pem"
# The other writers a start checkpoint vouches for: those that signed in the last week, the
# latest first, at most this many.
START_WINDOW_S = 7 * 86400
VOUCH_MAX = 64


class Trail(ChainKeeper):
    """One writer's chain as the ledger keeps it: the chain, its signer, the interval, and the
    witness file its checkpoints are also appended to (keel.audit.witness). Checkpoints are
    numbered as they commit, and each vouches for the other writers' checkpoints seen in the
    store since the one before (keel.audit.checkpoint)."""

    def __init__(
        self, chain: Chain, signer: Signer, checkpoint_s: float, witness: Path | None = None
    ) -> None:
        self.chain = chain
        self.signer = signer
        self.checkpoint_s = checkpoint_s
        self.witness = witness
        self._n = 0  # the number of this writer's next checkpoint
        self._vouched: dict[str, int] = {}  # each other writer's checkpoint last vouched for

    @property
    def writer(self) -> str:
        return self.chain.writer

    @property
    def head(self) -> Head:
        return self.chain.head

    def check(self, record: dict[str, Any]) -> None:
        if taken := RESERVED & record.keys():
            raise ValueError(f"the audit chain sets {sorted(taken)}; leave them out")
        canonical(record)  # a TypeError here, not a failed commit of everyone's batch

    def link(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Head]:
        return self.chain.link(records)

    def advance(self, head: Head) -> None:
        self.chain.advance(head)

    def checkpoint(
        self, head: Head, final: bool = False, vouch: list[Vouch] | None = None
    ) -> dict[str, Any]:
        return self.signer.checkpoint(self.chain.writer, head, final, self._n, vouch)

    async def seen(self, store: AuditStore, starting: bool = False) -> list[Vouch]:
        # Signed within two intervals and a minute (for commits that took a while), or at start
        # within the last week.
        window = START_WINDOW_S if starting else 2 * self.checkpoint_s + 60
        rows = await store.audit_latest_checkpoints(time.time() - window, VOUCH_MAX)
        return sorted(
            (row.writer, row.n, digest(row))
            for row in rows
            if row.n is not None
            and row.writer != self.chain.writer
            and row.n > self._vouched.get(row.writer, -1)
        )

    async def checkpointed(self, row: dict[str, Any], vouch: list[Vouch]) -> None:
        """Number the next checkpoint, remember what this one vouched for, witness it."""
        self._n += 1
        self._vouched.update((writer, n) for writer, n, _ in vouch)
        if self.witness is not None:
            await asyncio.to_thread(witness.append, self.witness, row)


def open_trail(config: KeelConfig) -> Trail | None:
    """This process's trail (a new writer id), or None when the audit trail is off."""
    if not config.audit.enabled:
        return None
    key = _signing_key(config, create=True)
    assert key is not None
    signer = Signer(key, _key_id(config.audit, key.public_key()))
    witness = config.audit.witness
    return Trail(
        Chain(new_writer_id()),
        signer,
        config.audit.checkpoint_s,
        Path(witness) if witness is not None else None,
    )


def verifier(config: KeelConfig) -> Verifier:
    """Every public key a checkpoint may be signed with: the current key and verify_keys."""
    keys = {key_id: load_public(text) for key_id, text in config.audit.verify_keys.items()}
    current = _signing_key(config, create=False)
    if current is not None:
        key_id, public = _key_id(config.audit, current.public_key()), current.public_key()
        if key_id in keys and keys[key_id] != public:
            raise ValueError(
                f"audit.verify_keys[{key_id!r}] is not the public half of the signing key of "
                "that key id: a new signing key needs a new audit.key_id"
            )
        keys[key_id] = public
    return Verifier(keys)


def key_file(config: KeelConfig) -> Path:
    """Where keel keeps the key it made: next to the SQLite file, else in ./.keel/."""
    url = config.store.url
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").removeprefix("/")
        if path and path != ":memory:":
            return Path(path).parent / KEY_FILE
    return Path(".keel") / KEY_FILE


def _signing_key(config: KeelConfig, create: bool) -> Ed25519PrivateKey | None:
    configured = config.audit.signing_key
    if configured is not None:
        return load_private(configured.get_secret_value())
    path = key_file(config)
    if not create:
        return load_private(path.read_text("utf-8")) if path.exists() else None
    key, made = load_or_create(path)
    if made:
        log.warning(
            "audit: no audit.signing_key is configured, so keel made one: %s (key id %s). "
            "Keep it safe; gateways sharing a store need it too (or their own, listed in "
            "audit.verify_keys). See docs/audit.md, Signing keys.",
            path,
            _key_id(config.audit, key.public_key()),
        )
    return key


def _key_id(audit: AuditConfig, public: Ed25519PublicKey) -> str:
    return audit.key_id or fingerprint(public)

"""The audit trail as the config sets it up: this process's chain, its signer, the verifier."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keel.audit.chain import Chain, new_writer_id
from keel.audit.checkpoint import Signer, Verifier
from keel.audit.keys import fingerprint, load_or_create
from keel.config.ed25519 import load_private, load_public
from keel.config.schema import AuditConfig, KeelConfig

__all__ = ["KEY_FILE", "Trail", "key_file", "open_trail", "verifier"]

log = logging.getLogger("keel.audit")

KEY_FILE = "audit-ed25519.pem"


@dataclass(frozen=True, slots=True)
class Trail:
    """What the ledger needs to keep one writer's chain: the chain, its signer, the interval,
    and the witness file its checkpoints are also appended to (keel.audit.witness)."""

    chain: Chain
    signer: Signer
    checkpoint_s: float
    witness: Path | None = None


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

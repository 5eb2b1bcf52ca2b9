"""API keys: made once, shown once, stored only as a SHA-256 hash.

Keys carry 256 bits of randomness, so a fast unsalted hash is safe to store: there is nothing
to brute-force. The hash is also the lookup index.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from keel.store.keys import KeyRecord, KeyStore

__all__ = ["create_key", "hash_key"]

KEY_PREFIX = "sk-keel-"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


async def create_key(
    store: KeyStore,
    team: str,
    name: str = "",
    expires_at: float | None = None,
    models: tuple[str, ...] = (),
    data_class: str | None = None,
    project: str | None = None,
) -> tuple[str, KeyRecord]:
    """Make a key for a team; return the key (to show once) and its stored record."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = KeyRecord(
        id="key_" + secrets.token_hex(6),
        team=team,
        name=name,
        prefix=key[: len(KEY_PREFIX) + 4],
        created_at=time.time(),
        expires_at=expires_at,
        revoked_at=None,
        models=",".join(models) or None,
        data_class=data_class,
        project=project,
    )
    await store.add_key(record, hash_key(key))
    return key, record

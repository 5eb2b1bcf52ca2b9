"""The API key family: a key's record (its hash is stored beside it, never the key itself)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

__all__ = ["KeyRecord", "KeyStore"]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    team: str
    name: str
    prefix: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    models: str | None = None  # a scoped key: the logical models it may call, comma-separated
    data_class: str | None = None  # a scoped key: the class of its data (else its team's)
    project: str | None = None  # the project (use case) its calls are counted under


class KeyStore(Protocol):
    @abstractmethod
    async def add_key(self, record: KeyRecord, key_hash: str) -> None: ...

    @abstractmethod
    async def find_key(self, key_hash: str) -> KeyRecord | None: ...

    @abstractmethod
    async def list_keys(
        self, team: str | None = None, project: str | None = None
    ) -> list[KeyRecord]:
        """Keys oldest first: all, or those of one team and/or one project."""

    @abstractmethod
    async def revoke_key(self, key_id: str, when: float) -> bool:
        """Mark a key revoked; False if there is no such key."""

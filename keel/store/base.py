"""The store keeps records: usage and API keys. One small base; backends by URL scheme."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

__all__ = ["KeyRecord", "Store", "UsageGroup"]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    team: str
    name: str
    prefix: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """Totals of usage records sharing one value of the grouping column."""

    key: str | None
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    avg_latency_ms: float
    avg_overhead_ms: float


class Store(ABC):
    async def start(self) -> None:
        """Connect and create missing tables."""

    async def close(self) -> None:
        """Close connections."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    @abstractmethod
    async def write_usage(self, rows: list[dict[str, Any]]) -> None:
        """Commit usage rows in one transaction."""

    @abstractmethod
    async def usage_by(self, column: str, since: float) -> list[UsageGroup]:
        """Totals per value of ``column`` (team, model, deployment) since a Unix time."""

    @abstractmethod
    async def count_usage(self) -> int: ...

    @abstractmethod
    async def add_key(self, record: KeyRecord, key_hash: str) -> None: ...

    @abstractmethod
    async def find_key(self, key_hash: str) -> KeyRecord | None: ...

    @abstractmethod
    async def list_keys(self, team: str | None = None) -> list[KeyRecord]: ...

    @abstractmethod
    async def revoke_key(self, key_id: str, when: float) -> bool:
        """Mark a key revoked; False if there is no such key."""

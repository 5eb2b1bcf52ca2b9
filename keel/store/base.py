"""The store keeps records: usage, API keys and rollouts. One small base; backends by URL scheme."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["KeyRecord", "RolloutChange", "RolloutEvent", "RolloutState", "Store", "UsageGroup"]


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


@dataclass(frozen=True, slots=True)
class RolloutState:
    """One model's split: as the store holds it (version 1 and up), or as the config starts
    it (version 0). ``percent`` is the canary's share; ``weights`` the A/B shares."""

    model: str
    mode: str  # canary | ab
    canary: str | None
    percent: float
    weights: dict[str, float] = field(default_factory=dict)
    sticky: str = "user"
    status: str = "active"  # active | promoted | rolled_back
    version: int = 0
    updated_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RolloutChange:
    """A change to a split, written with its event in one transaction.

    ``before`` is the split the change was decided on (None: the model had none); the store
    refuses the change if its stored version is no longer ``before``'s, so two writers that
    decide at once cannot both win."""

    before: RolloutState | None
    after: RolloutState  # its version and updated_at are set by the store
    action: str  # set | promote | rollback | auto_rollback
    actor: str
    reason: str
    ts: float


@dataclass(frozen=True, slots=True)
class RolloutEvent:
    seq: int
    ts: float
    model: str
    action: str
    actor: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    reason: str


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

    @abstractmethod
    async def rollouts(self) -> list[RolloutState]:
        """Every stored split (gateways poll this: it must stay cheap)."""

    @abstractmethod
    async def change_rollout(self, change: RolloutChange) -> RolloutState | None:
        """Store ``change.after`` as the next version and record the event; None (nothing
        written) if the stored split is no longer ``change.before``."""

    @abstractmethod
    async def rollout_events(self, model: str | None = None, limit: int = 10) -> list[RolloutEvent]:
        """The latest ``limit`` events (of one model, or all), oldest first."""

    @abstractmethod
    async def call_attempts(
        self, model: str, since: float, limit: int
    ) -> list[list[dict[str, Any]]]:
        """The attempts lists of a model's latest calls (not shadow copies) since a Unix time,
        newest first, at most ``limit`` calls."""

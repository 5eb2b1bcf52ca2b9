"""The store keeps records: usage, audit, API keys and rollouts. One small base; backends by URL
scheme."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "AUDITED_USAGE",
    "AlertRecord",
    "AuditRow",
    "CheckpointRow",
    "FeedbackRecord",
    "KeyRecord",
    "RolloutChange",
    "RolloutEvent",
    "RolloutState",
    "Store",
    "UsageGroup",
    "UsageRecord",
]

Rows = Sequence[dict[str, Any]]

# The usage columns an audit call record also holds: a usage row must agree with its record on
# each (reports and budgets read them), after its seq, request_id and kind.
AUDITED_USAGE = ("team", "model", "status", "prompt_tokens", "completion_tokens", "cost_usd")


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
class UsageRecord:
    """The columns of one usage row that cost reports read (``keel.finops``)."""

    seq: int
    ts: float
    team: str | None
    key_id: str | None
    project: str | None
    model: str | None
    deployment: str | None
    region: str | None
    status: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    attempts: str  # JSON list of tries; a failed one has an error
    kind: str  # call | shadow


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """What a caller said about an answer (POST /v1/feedback)."""

    ts: float
    request_id: str
    outcome: str
    team: str | None
    project: str | None
    key_id: str | None
    seq: int = 0  # set by the store


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


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit record as stored: its place in its writer's chain and its canonical JSON."""

    writer: str
    seq: int
    ts: float
    prev: str
    hash: str
    record: str


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """A signed head of one writer's chain."""

    writer: str
    seq: int
    head: str
    ts: float
    key_id: str
    signature: str
    final: bool = False  # signed at a clean stop: nothing follows it
    n: int | None = None  # the writer's checkpoints are numbered 0, 1, 2 …; None before that
    vouch: str | None = None  # JSON [[writer, n, digest], …]: other writers' checkpoints seen


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert as recorded after its delivery finished or gave up (keel.monitor.alerts)."""

    ts: float
    kind: str
    name: str
    subject: str
    threshold: float
    used: float
    limit: float
    period_start: float
    resets_at: float
    message: str
    status: str  # delivered | partial | failed | no_webhooks
    delivered: int
    failed: int
    attempts: int
    last_error: str | None
    seq: int = 0  # set by the store


class Store(ABC):
    async def start(self) -> None:
        """Connect and create missing tables."""

    async def close(self) -> None:
        """Close connections."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    @abstractmethod
    async def write(self, usage: Rows, audit: Rows = (), checkpoints: Rows = ()) -> None:
        """Commit usage rows, audit rows and audit checkpoints in one transaction: all or none."""

    async def write_usage(self, rows: Rows) -> None:
        """Commit usage rows alone (tools and tests; the ledger writes through ``write``)."""
        await self.write(rows)

    @abstractmethod
    async def usage_by(self, column: str, since: float) -> list[UsageGroup]:
        """Totals per value of ``column`` (team, model, deployment) since a Unix time."""

    @abstractmethod
    async def count_usage(self) -> int: ...

    @abstractmethod
    async def spent_between(self, column: str, value: str, since: float, until: float) -> float:
        """Dollars the calls (not shadow copies) of one team, project or key_id cost with
        ``since <= ts < until``: budgets start their counters from it, reports show it."""

    @abstractmethod
    async def usage_rows(
        self, since: float, until: float, after_seq: int = 0, limit: int = 5000
    ) -> list[UsageRecord]:
        """Up to ``limit`` usage rows with ``since <= ts < until`` and seq above ``after_seq``,
        by seq: a report pages through a period without holding all of it."""

    @abstractmethod
    async def stored_request_ids(
        self, request_ids: Sequence[str]
    ) -> dict[tuple[str, str], tuple[float, str | None]]:
        """Of these ids, those in the usage records: (request_id, kind) -> (ts, team)."""

    @abstractmethod
    async def usage_audit_rows(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to ``limit`` usage rows with seq above ``after_seq``, by seq, as tuples of
        (seq, request_id, kind, *``AUDITED_USAGE``) (``keel audit verify`` compares them with
        the audit records)."""

    @abstractmethod
    async def call_team(self, request_id: str) -> str | None:
        """The team of the call (not a shadow copy) recorded under this id; None if none."""

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

    @abstractmethod
    async def audit_head(self, writer: str) -> AuditRow | None:
        """The writer's record with the highest seq, None before its first."""

    @abstractmethod
    async def audit_writers(self) -> list[str]:
        """Every writer with records or checkpoints, sorted."""

    @abstractmethod
    async def audit_records(self, writer: str, after_seq: int, limit: int) -> list[AuditRow]:
        """Up to ``limit`` of the writer's records with seq above ``after_seq``, by seq."""

    @abstractmethod
    async def audit_checkpoints(self, writer: str) -> list[CheckpointRow]:
        """The writer's checkpoints by seq, then time."""

    @abstractmethod
    async def audit_latest_checkpoints(self, since: float, limit: int) -> list[CheckpointRow]:
        """Each writer's highest-numbered checkpoint among those signed at ``since`` or later,
        for the ``limit`` writers that signed last."""

    @abstractmethod
    async def audit_since(
        self, since: float, writer: str | None, after: AuditRow | None, limit: int
    ) -> list[AuditRow]:
        """Up to ``limit`` records linked at ``since`` or later (of one writer, or all),
        ordered by (ts, writer, seq) and coming after ``after`` in that order."""

    @abstractmethod
    async def add_alert(self, record: AlertRecord) -> int:
        """Record an alert (its ``seq`` is ignored) and return the seq it was given."""

    @abstractmethod
    async def alerts_since(self, since: float, limit: int = 1000) -> list[AlertRecord]:
        """The latest ``limit`` alerts recorded at ``since`` or later, oldest first."""

    @abstractmethod
    async def add_feedback(self, record: FeedbackRecord) -> int:
        """Record a feedback (its ``seq`` is ignored) and return the seq it was given."""

    @abstractmethod
    async def feedback_since(self, since: float) -> list[FeedbackRecord]:
        """Every feedback given at ``since`` or later, in the order it was recorded."""

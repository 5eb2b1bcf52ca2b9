"""The usage family: one row per call (and per shadow copy), and what reads them back."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["AUDITED_USAGE", "UsageGroup", "UsageRecord", "UsageStore"]

# The usage columns an audit call record also holds: a usage row must agree with its record on
# each (reports and budgets read them), after its seq, request_id and kind.
AUDITED_USAGE = ("team", "model", "status", "prompt_tokens", "completion_tokens", "cost_usd")


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


class UsageStore(Protocol):
    """Reads of the usage records (the ledger writes them through ``Store.write``)."""

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
    async def call_attempts(
        self, model: str, since: float, limit: int
    ) -> list[list[dict[str, Any]]]:
        """The attempts lists of a model's latest calls (not shadow copies) since a Unix time,
        newest first, at most ``limit`` calls."""

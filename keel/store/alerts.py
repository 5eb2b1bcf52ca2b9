"""The alert family: each alert as recorded once its delivery finished or gave up."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

__all__ = ["AlertRecord", "AlertStore"]


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


class AlertStore(Protocol):
    @abstractmethod
    async def add_alert(self, record: AlertRecord) -> int:
        """Record an alert (its ``seq`` is ignored) and return the seq it was given."""

    @abstractmethod
    async def alerts_since(self, since: float, limit: int = 1000) -> list[AlertRecord]:
        """The latest ``limit`` alerts recorded at ``since`` or later, oldest first."""

"""The audit family: audit records and checkpoints as stored, and what reads them back.

Records and checkpoints are written by the ledger (keel.store.ledger) with their usage rows;
what a record holds, how the chain links it and how a checkpoint is signed is keel.audit's.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

__all__ = ["AuditRow", "AuditStore", "CheckpointRow"]


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


class AuditStore(Protocol):
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

"""The audit family: audit records and checkpoints as stored, what reads them back, and what
the ledger needs of the chain that writes them.

The ledger (keel.store.ledger) commits records and checkpoints with their usage rows through a
``ChainKeeper``: what a record holds, how a chain links it and how a checkpoint is signed and
vouches for others is keel.audit's (keel.audit.trail.Trail is the keeper). keel.audit reads and
writes these rows; the store never imports keel.audit.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["AuditRow", "AuditStore", "ChainKeeper", "CheckpointRow", "Head", "Vouch"]

# Another writer's checkpoint seen in the store: writer, n, digest of its signature.
Vouch = tuple[str, int, str]


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
class Head:
    """The last committed record of a chain (seq 0 and 64 zeros before the first)."""

    seq: int
    hash: str


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


class ChainKeeper(Protocol):
    """One writer's audit chain, as the ledger keeps it: it links a batch's records onto the
    committed head and signs checkpoints of the head they lead to; the head moves, and the next
    checkpoint is numbered, only when the ledger says the rows committed (keel.audit.trail)."""

    checkpoint_s: float  # how often the ledger signs the head, idle too

    @property
    @abstractmethod
    def writer(self) -> str:
        """The chain's id (``host:pid:random``)."""

    @property
    @abstractmethod
    def head(self) -> Head:
        """The committed head."""

    @abstractmethod
    def check(self, record: dict[str, Any]) -> None:
        """Raise ValueError or TypeError for a record the chain cannot link, before it is
        queued with everyone's batch."""

    @abstractmethod
    def link(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Head]:
        """Rows for the ``audit`` table after the committed head, and the head they lead to.
        Nothing changes until ``advance``."""

    @abstractmethod
    def advance(self, head: Head) -> None:
        """The rows leading to ``head`` are committed."""

    @abstractmethod
    def checkpoint(
        self, head: Head, final: bool = False, vouch: list[Vouch] | None = None
    ) -> dict[str, Any]:
        """A signed row for the ``audit_checkpoints`` table naming ``head``; ``final`` at a
        clean stop, ``vouch`` the other writers' checkpoints it vouches for."""

    @abstractmethod
    async def seen(self, store: AuditStore, starting: bool = False) -> list[Vouch]:
        """The other writers' latest checkpoints in the store not vouched for yet: signed
        lately, or (``starting``) within a longer window."""

    @abstractmethod
    async def checkpointed(self, row: dict[str, Any], vouch: list[Vouch]) -> None:
        """A checkpoint from ``checkpoint`` is committed, vouching for ``vouch``."""

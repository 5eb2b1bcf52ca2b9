"""The episode family: a monitor's condition from the check it started on to the one it ended
on (keel.monitor.episodes). At most one episode of a kind and subject is open at a time over
every replica: opening one that is open already returns the open one."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["EpisodeRecord", "EpisodeStore"]


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    kind: str  # drift | embedding_drift | quality | latency | errors
    subject: str
    started_at: float
    message: str  # the finding that opened it
    value: float
    threshold: float
    details: dict[str, Any] = field(default_factory=dict)
    resolved_at: float | None = None
    seq: int = 0  # set by the store

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"


class EpisodeStore(Protocol):
    @abstractmethod
    async def open_episode(self, record: EpisodeRecord) -> tuple[EpisodeRecord, bool]:
        """Open an episode, or find the one of its kind and subject that is open: the open
        episode, and whether this call opened it."""

    @abstractmethod
    async def close_episode(self, kind: str, subject: str, ts: float) -> EpisodeRecord | None:
        """End the open episode of ``kind`` and ``subject`` at ``ts``: the closed episode if
        this call closed it, None if none was open (or another writer closed it first)."""

    @abstractmethod
    async def episodes(self, since: float = 0.0, open_only: bool = False) -> list[EpisodeRecord]:
        """Episodes that were open at ``since`` or later (or only those open now), oldest
        first."""

"""The store keeps records: one small protocol per record family, ``Store`` all of them.

Code that reads or writes one family is typed with that family's protocol (``KeyStore`` for
key lookups, ``AuditStore`` for ``keel audit verify``, ``UsageStore`` for reports); the
backends (keel.store.sqlite, keel.store.postgres, both on keel.store.sql) implement ``Store``.
Each family's rows live beside its protocol: keel.store.usage, keys, rollouts, audit, alerts,
feedback, models, responses, quality (predictions and labels), episodes, drift windows and
embeddings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from keel.store.alerts import AlertStore
from keel.store.audit import AuditStore
from keel.store.drift import DriftStore
from keel.store.embeddings import EmbeddingStore
from keel.store.episodes import EpisodeStore
from keel.store.feedback import FeedbackStore
from keel.store.keys import KeyStore
from keel.store.models import ModelStore
from keel.store.quality import QualityStore
from keel.store.responses import ResponseStore
from keel.store.rollouts import RolloutStore
from keel.store.usage import UsageStore

__all__ = ["Rows", "Store"]

Rows = Sequence[dict[str, Any]]


class Store(
    UsageStore,
    KeyStore,
    RolloutStore,
    AuditStore,
    AlertStore,
    EpisodeStore,
    DriftStore,
    FeedbackStore,
    EmbeddingStore,
    ModelStore,
    ResponseStore,
    QualityStore,
    ABC,
):
    """Every record family, and the one write the hot path makes (``write``)."""

    async def start(self) -> None:
        """Connect and create missing tables."""

    async def close(self) -> None:
        """Close connections."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    @abstractmethod
    async def write(
        self, usage: Rows, audit: Rows = (), checkpoints: Rows = (), responses: Rows = ()
    ) -> None:
        """Commit usage rows, audit rows, audit checkpoints and stored Responses
        (keel.store.response_sql.response_row) in one transaction: all or none."""

    def refused_value(self, exc: Exception) -> bool:
        """Whether ``exc``, raised by ``write``, is the database refusing a value (one too long
        for its column, say) rather than failing to commit (connection lost, busy): trying the
        same rows again cannot help."""
        return False

    async def write_usage(self, rows: Rows) -> None:
        """Commit usage rows alone (tools and tests; the ledger writes through ``write``)."""
        await self.write(rows)

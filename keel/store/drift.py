"""The drift-window family: sampled input rows of predictive model versions, in time order,
that keel.monitor.drift_windows compares with each version's registered reference. Every
replica writes its sample and reads the same windows, so replicas agree on a verdict."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["DriftRow", "DriftStore"]


@dataclass(frozen=True, slots=True)
class DriftRow:
    model: str
    version: int
    ts: float  # when the call finished
    layout: str  # the inputs' names and widths, "X:30" or "age:1,city:1"
    data: str  # JSON list of the row's values, in layout order


class DriftStore(Protocol):
    @abstractmethod
    async def add_drift_rows(self, rows: Sequence[DriftRow]) -> None:
        """Keep sampled rows (one transaction)."""

    @abstractmethod
    async def drift_window(
        self, model: str, version: int, since: float, limit: int
    ) -> list[DriftRow]:
        """The latest ``limit`` rows of a version finished at ``since`` or later, oldest
        first."""

    @abstractmethod
    async def drift_versions(self, since: float) -> list[tuple[str, int]]:
        """The model versions with rows at ``since`` or later."""

    @abstractmethod
    async def delete_drift_rows(self, before: float) -> int:
        """Forget rows older than ``before``; how many."""

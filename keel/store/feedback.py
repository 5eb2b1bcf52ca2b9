"""The feedback family: what callers said about answers (POST /v1/feedback)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol

__all__ = ["FeedbackRecord", "FeedbackStore"]


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


class FeedbackStore(Protocol):
    @abstractmethod
    async def add_feedback(self, record: FeedbackRecord) -> int:
        """Record a feedback (its ``seq`` is ignored) and return the seq it was given."""

    @abstractmethod
    async def feedback_since(self, since: float) -> list[FeedbackRecord]:
        """Every feedback given at ``since`` or later, in the order it was recorded."""

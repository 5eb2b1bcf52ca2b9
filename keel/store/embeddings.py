"""The prompt embedding family (keel.monitor.embeddings): sampled prompts' vectors, never
their text; the reference window a user pins per logical model (``keel monitor pin``); and
each drift check's outcome (``keel monitor report``)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["EmbeddingCheck", "EmbeddingPin", "EmbeddingStore", "PromptVector"]


@dataclass(frozen=True, slots=True)
class PromptVector:
    """One sampled prompt's embedding: 384 float16 values, little-endian (768 bytes)."""

    ts: float
    model: str
    deployment: str
    arm: str  # the rollout arm (keel.routing.rollouts), "-" without a rollout
    vector: bytes


@dataclass(frozen=True, slots=True)
class EmbeddingPin:
    """A model's reference window: the vectors of prompts sampled in [since, until]."""

    model: str
    since: float
    until: float
    pinned_at: float
    actor: str
    seq: int = 0  # set by the store; the latest pin of a model is the one in force


@dataclass(frozen=True, slots=True)
class EmbeddingCheck:
    """One check of a model's (or one rollout arm's) current window against its pin."""

    ts: float
    model: str
    arm: str  # "" for the whole model, else the rollout arm checked alone
    pin_seq: int
    n_reference: int
    n_current: int
    mmd2: float  # the unbiased MMD^2 estimate
    p_value: float
    score: float  # -log10(p_value)
    alpha: float
    drift: bool  # p_value < alpha
    seq: int = 0  # set by the store


class EmbeddingStore(Protocol):
    @abstractmethod
    async def add_prompt_vectors(self, rows: Sequence[PromptVector]) -> None:
        """Record sampled vectors, all in one transaction."""

    @abstractmethod
    async def latest_prompt_vectors(
        self, model: str, after: float, limit: int, arm: str | None = None
    ) -> list[PromptVector]:
        """A model's (or one arm's) newest ``limit`` vectors sampled after ``after``."""

    @abstractmethod
    async def sample_prompt_vectors(
        self, model: str, since: float, until: float, limit: int, seed: int
    ) -> list[PromptVector]:
        """A uniform sample (by ``seed``) of at most ``limit`` of a model's vectors sampled
        in [since, until]; all of them if there are no more."""

    @abstractmethod
    async def delete_prompt_vectors(self, before: float) -> int:
        """Delete vectors and checks older than ``before``, except vectors inside the
        window of each model's pin in force; how many vectors went."""

    @abstractmethod
    async def add_embedding_pin(self, pin: EmbeddingPin) -> EmbeddingPin:
        """Record a pin (its ``seq`` is ignored); the pin as stored."""

    @abstractmethod
    async def embedding_pins(self) -> list[EmbeddingPin]:
        """The pin in force of each model (its latest), by model name."""

    @abstractmethod
    async def add_embedding_check(self, check: EmbeddingCheck) -> None:
        """Record one check."""

    @abstractmethod
    async def embedding_checks(self, model: str, limit: int = 10) -> list[EmbeddingCheck]:
        """A model's latest ``limit`` checks (the whole model's and its arms'), newest first."""

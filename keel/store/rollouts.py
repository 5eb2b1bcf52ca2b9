"""The rollout family: each model's stored split, versioned, and the events that changed it.

The family holds two kinds of split under one key space: a logical (LLM) model's, keyed by
its config name, and a registered predictive model's, keyed ``predictive:<name>``
(``predictive_key``) so that the two can never collide. Each reader keeps to its own kind:
``keel.routing.rollouts`` and ``keel rollout`` ignore predictive keys, ``keel.serving`` reads
only those.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = [
    "PREDICTIVE",
    "RolloutChange",
    "RolloutEvent",
    "RolloutState",
    "RolloutStore",
    "is_predictive",
    "predictive_key",
]

PREDICTIVE = "predictive:"  # the key prefix of a predictive model's split


@dataclass(frozen=True, slots=True)
class RolloutState:
    """One model's split: as the store holds it (version 1 and up), or as the config starts
    it (version 0). ``percent`` is the canary's share; ``weights`` the A/B shares. A
    predictive model's split names aliases or version numbers where an LLM's names
    deployments, and may name a ``shadow``; its ``mode`` may also be ``shadow`` (a shadow
    alone, every caller on the champion) and its ``status`` ``off``."""

    model: str
    mode: str  # canary | ab
    canary: str | None
    percent: float
    weights: dict[str, float] = field(default_factory=dict)
    sticky: str = "user"
    status: str = "active"  # active | promoted | rolled_back | off
    version: int = 0
    updated_at: float = 0.0
    shadow: str | None = None  # a predictive model's shadow alias or version

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


def predictive_key(name: str) -> str:
    """The key of a predictive model's split."""
    return PREDICTIVE + name


def is_predictive(model: str) -> bool:
    return model.startswith(PREDICTIVE)


class RolloutStore(Protocol):
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

"""The model family: registered versions of predictive models, the aliases that name them
(``champion``, ``challenger``, any name) and the events that moved an alias."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = ["AliasEvent", "AliasMove", "ModelAlias", "ModelStore", "ModelVersion"]


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One registered version. ``version`` is 0 until the store numbers it (1, 2, … per
    name); ``signature`` is ``{"inputs": [...], "outputs": [...]}`` of OIP tensors;
    ``training`` the training data's fingerprint and reference statistics, if given."""

    name: str
    sha256: str
    format: str
    signature: dict[str, Any]
    creator: str
    created_at: float
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    code_version: str | None = None
    version: int = 0
    archived_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ModelAlias:
    name: str
    alias: str
    version: int


@dataclass(frozen=True, slots=True)
class AliasMove:
    """Point ``alias`` of model ``name`` at ``version``; ``who`` and ``why`` go in its event."""

    name: str
    alias: str
    version: int
    who: str
    why: str
    ts: float


@dataclass(frozen=True, slots=True)
class AliasEvent:
    seq: int
    ts: float
    name: str
    alias: str
    before: int | None  # the version it named before; None: the alias is new
    after: int
    who: str
    why: str


class ModelStore(Protocol):
    @abstractmethod
    async def add_model_version(self, record: ModelVersion) -> ModelVersion:
        """Store ``record`` as its name's next version (numbered atomically: two writers at
        once get two numbers); the stored record, its version set."""

    @abstractmethod
    async def model_versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of one name, or of all), by name then version, archived ones too."""

    @abstractmethod
    async def model_version(self, name: str, version: int) -> ModelVersion | None:
        """One version, or None."""

    @abstractmethod
    async def archive_model_version(self, name: str, version: int, when: float) -> bool:
        """Mark a version archived (once: the first time is kept); False if there is none."""

    @abstractmethod
    async def model_aliases(self, name: str | None = None) -> list[ModelAlias]:
        """Every alias (of one name, or of all), by name then alias."""

    @abstractmethod
    async def move_model_alias(self, move: AliasMove) -> AliasEvent:
        """Point the alias at the version and record the event, in one transaction; a move
        racing another is retried on what the other left, so each event's ``before`` is
        the version the alias really named."""

    @abstractmethod
    async def model_alias_events(self, name: str | None = None) -> list[AliasEvent]:
        """Every alias event (of one name, or of all), oldest first."""

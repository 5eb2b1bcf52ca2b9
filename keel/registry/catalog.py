"""The registry's operations over a store, shared by ``keel models`` and the admin API:
register a version, resolve a reference, move an alias, read lineage, archive.

Refusals are ``ValueError`` subclasses saying what to do: ``UnknownModel`` (no such model,
version or alias), ``RegistryConflict`` (the registry's state forbids it: an alias on an
archived version, archiving a version an alias names); any other ``ValueError`` is bad input.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from keel.registry.formats import Detected
from keel.store.models import AliasEvent, AliasMove, ModelAlias, ModelStore, ModelVersion

__all__ = [
    "MAX_VERSION",
    "Lineage",
    "RegistryConflict",
    "UnknownModel",
    "alias",
    "archive",
    "check_name",
    "lineage",
    "register",
    "resolve",
    "version",
]

# Names and aliases appear in references (fraud@champion, fraud:3) and URLs.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_VERSION = 2**31 - 1  # the store's version column


class UnknownModel(ValueError):
    """No model, version or alias of that name."""


class RegistryConflict(ValueError):
    """The registry's current state forbids the change (the message says what to do first)."""


@dataclass(frozen=True, slots=True)
class Lineage:
    """A model's versions, the aliases naming them now, and every alias move, oldest first."""

    versions: list[ModelVersion]
    aliases: list[ModelAlias]
    events: list[AliasEvent]


def check_name(what: str, name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{what} {name!r}: use letters, digits, '.', '_' and '-' (up to 128, starting "
            "with a letter or digit)"
        )


async def register(
    store: ModelStore,
    name: str,
    sha256: str,
    detected: Detected,
    *,
    creator: str,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    description: str = "",
    code_version: str | None = None,
) -> ModelVersion:
    """Record an artifact already read (``detected``) and stored (``sha256``, in
    keel.registry.artifacts) as ``name``'s next version."""
    check_name("model name", name)
    record = ModelVersion(
        name=name,
        sha256=sha256,
        format=detected.format,
        signature=detected.signature(),
        creator=creator,
        created_at=time.time(),
        metrics=metrics or {},
        training=training,
        tags=tags or {},
        description=description,
        code_version=code_version,
    )
    return await store.add_model_version(record)


async def resolve(store: ModelStore, ref: str) -> ModelVersion:
    """The version ``NAME@ALIAS``, ``NAME:VERSION`` or ``NAME`` (its latest live one) names."""
    if "@" in ref:
        name, alias_name = ref.split("@", 1)
        for a in await store.model_aliases(name):
            if a.alias == alias_name:
                return await version(store, name, a.version)
        raise UnknownModel(f"{name} has no alias {alias_name!r} (see keel models lineage {name})")
    if ":" in ref:
        name, number = ref.rsplit(":", 1)
        if not number.isdigit():
            raise ValueError(f"{ref!r}: give NAME:VERSION with a number, or NAME@ALIAS")
        return await version(store, name, int(number))
    live = [v for v in await store.model_versions(ref) if v.archived_at is None]
    if not live:
        raise UnknownModel(f"no live version of a model named {ref!r} (see keel models list)")
    return live[-1]


async def version(store: ModelStore, name: str, number: int) -> ModelVersion:
    found = await store.model_version(name, number) if 0 < number <= MAX_VERSION else None
    if found is None:
        raise UnknownModel(f"no version {number} of model {name!r} (see keel models lineage)")
    return found


async def alias(
    store: ModelStore, name: str, alias_name: str, number: int, who: str, why: str = ""
) -> AliasEvent:
    """Point ``name@alias_name`` at a live version, recorded with who and why (one atomic
    move: each event's ``before`` is what the alias really named)."""
    check_name("alias", alias_name)
    if alias_name.isdigit():
        raise ValueError(f"alias {alias_name!r} is all digits: it would read as a version")
    target = await version(store, name, number)
    if target.archived_at is not None:
        raise RegistryConflict(f"{name}:{number} is archived; an alias names a live version")
    return await store.move_model_alias(AliasMove(name, alias_name, number, who, why, time.time()))


async def lineage(store: ModelStore, name: str) -> Lineage:
    versions = await store.model_versions(name)
    if not versions:
        raise UnknownModel(f"no model named {name!r} (see keel models list)")
    return Lineage(versions, await store.model_aliases(name), await store.model_alias_events(name))


async def archive(store: ModelStore, name: str, number: int) -> ModelVersion:
    """Archive a version no alias names (it stays on record; aliases can no longer name it)."""
    await version(store, name, number)
    naming = [a.alias for a in await store.model_aliases(name) if a.version == number]
    if naming:
        raise RegistryConflict(
            f"{name}:{number} is named by {', '.join(naming)}: move "
            f"{'them' if len(naming) > 1 else 'it'} to another version first"
        )
    await store.archive_model_version(name, number, time.time())
    return await version(store, name, number)

"""``keel models rollout|promote|rollback``: a predictive model's rollout and its champion.

A rollout is stored as the split of ``predictive:NAME`` in the rollouts family
(``keel.store.rollouts``): versioned, each change written with its event (who, why, before,
after) in one transaction that names the version it was decided on, so a change made meanwhile
is never silently overwritten. Its refs are aliases (``challenger``) or version numbers
(``3``), checked against the registry when it is set. Promote and roll back are each one
alias move of ``champion`` (atomic, with its alias event), then the split is marked ended.
Running gateways follow within about a second (``predictive.refresh_s``).

Rolling back while a split still sends callers to its canary (or A/B arms) ends the split
and leaves ``champion`` where it is: the champion was not moved by this rollout, and moving it
back would undo an older promotion. Otherwise it moves ``champion`` back to the version it
named before its last move (a second rollback undoes the first).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

from keel.commands.models import creator
from keel.commands.rollout import RolloutConflict, actor
from keel.config.schema import KeelConfig
from keel.serving.split import CHAMPION, ModelSplit, check_sticky, describe
from keel.store import opened_store
from keel.store.base import Store
from keel.store.models import AliasEvent, AliasMove
from keel.store.rollouts import RolloutChange, RolloutState, predictive_key

__all__ = ["Refs", "promote", "rollback", "rollout_info", "set_rollout"]

_COMPARED = ("mode", "canary", "percent", "weights", "sticky", "status", "shadow")


@dataclasses.dataclass(frozen=True, slots=True)
class Refs:
    """A model's live versions and aliases, to check and resolve refs against."""

    name: str
    versions: tuple[int, ...]
    aliases: dict[str, int]

    def version(self, ref: str, option: str = "") -> int:
        """The live version ``ref`` names, else ValueError listing what there is."""
        number = int(ref) if ref.isdigit() else self.aliases.get(ref)
        if number is not None and number in self.versions:
            return number
        named = ", ".join(f"{a}={v}" for a, v in sorted(self.aliases.items())) or "none"
        live = ", ".join(map(str, self.versions)) or "none"
        where = f"{option} " if option else ""
        raise ValueError(
            f"{where}{ref!r} names no live version of {self.name} (its aliases: {named}; "
            f"live versions: {live}). Give an alias or a version number."
        )


async def set_rollout(
    config: KeelConfig,
    name: str,
    *,
    canary: str | None = None,
    percent: float | None = None,
    ab: str | None = None,
    shadow: str | None = None,
    no_shadow: bool = False,
    sticky: str | None = None,
    off: bool = False,
    why: str = "",
) -> tuple[RolloutState | None, RolloutState | None]:
    """Check and store a change of NAME's rollout; (the stored split, or None if nothing
    changed; the split before)."""
    async with opened_store(config.store.url) as store:
        refs = await _refs(store, name)
        current = await _current(store, name)
        after = _plan(refs, current, canary, percent, ab, shadow, no_shadow, sticky, off)
        if current is not None and _same(current, after):
            return None, current
        return await _change(store, current, after, "off" if off else "set", why), current


async def promote(
    config: KeelConfig, name: str, source: str = "challenger", why: str = ""
) -> tuple[AliasEvent, RolloutState | None]:
    """Move ``champion`` to the version ``source`` names; end the split (promoted)."""
    async with opened_store(config.store.url) as store:
        refs = await _refs(store, name)
        number = refs.version(source, "--from")
        if refs.aliases.get(CHAMPION) == number:
            raise ValueError(f"{name}@{CHAMPION} already names version {number} ({source})")
        event = await _move(store, name, number, why or f"promote {source}")
        current = await _current(store, name)
        if current is None or current.status != "active":
            return event, None
        ended = dataclasses.replace(current, status="promoted")
        return event, await _change(store, current, ended, "promote", why)


async def rollback(
    config: KeelConfig, name: str, why: str = ""
) -> tuple[AliasEvent | None, RolloutState | None]:
    """End a split still in progress; else move ``champion`` back to its previous version
    (and mark the split rolled back). (The alias event, if it moved; the stored split.)"""
    async with opened_store(config.store.url) as store:
        refs = await _refs(store, name)
        current = await _current(store, name)
        if ModelSplit.of(current) is not None:
            assert current is not None
            return None, await _change(store, current, _rolled_back(current), "rollback", why)
        moves = [e for e in await store.model_alias_events(name) if e.alias == CHAMPION]
        if not moves or moves[-1].before is None:
            raise ValueError(
                f"{name}@{CHAMPION} has not been moved from an earlier version: there is "
                f"nothing to roll back to (see keel models lineage {name})"
            )
        number = refs.version(str(moves[-1].before))
        event = await _move(store, name, number, why or f"roll back from {moves[-1].after}")
        if current is None or current.status not in ("active", "promoted"):
            return event, None
        return event, await _change(store, current, _rolled_back(current), "rollback", why)


async def rollout_info(config: KeelConfig, name: str) -> dict[str, Any] | None:
    """NAME's stored rollout, in words, with the version each of its refs names now."""
    async with opened_store(config.store.url) as store:
        current = await _current(store, name)
        if current is None:
            return None
        refs = await _refs(store, name)
    named = [CHAMPION, *(current.weights if current.mode == "ab" else [current.canary])]
    named.append(current.shadow)
    resolved = {ref: _try(refs, ref) for ref in named if ref is not None}
    return {"summary": describe(current), "versions": resolved, "split": current.as_dict()}


def _plan(
    refs: Refs,
    current: RolloutState | None,
    canary: str | None,
    percent: float | None,
    ab: str | None,
    shadow: str | None,
    no_shadow: bool,
    sticky: str | None,
    off: bool,
) -> RolloutState:
    name = refs.name
    if off:
        if current is None:
            raise ValueError(f"{name} has no rollout to turn off")
        if canary or percent is not None or ab or shadow:
            raise ValueError("--off ends the rollout: give it alone")
        return dataclasses.replace(current, status="off", shadow=None)
    if shadow is not None and no_shadow:
        raise ValueError("give --shadow REF or --no-shadow, not both")
    active = current if current is not None and current.status == "active" else None
    keep = check_sticky(sticky) if sticky is not None else (active.sticky if active else "key")
    if shadow is not None:
        refs.version(shadow, "--shadow")
    after_shadow = None if no_shadow else shadow or (active.shadow if active else None)
    key = predictive_key(name)
    if ab is not None:
        if canary is not None or percent is not None:
            raise ValueError("give either --ab (an A/B split) or --canary with --percent")
        weights = _weights(ab, refs)
        return RolloutState(key, "ab", None, 0.0, weights, keep, shadow=after_shadow)
    if canary is None and percent is not None and active is not None and active.mode == "canary":
        canary = active.canary
    if canary is not None:
        return _canary(refs, canary, percent, keep, after_shadow)
    if percent is not None:
        raise ValueError(
            f"{name} has no canary to give {percent:g}%: say which alias or version it is, "
            f"e.g. keel models rollout {name} --canary challenger --percent {percent:g}"
        )
    if shadow is not None or no_shadow:
        if active is not None:
            return dataclasses.replace(active, sticky=keep, shadow=after_shadow)
        if after_shadow is None:
            raise ValueError(f"{name} has no rollout to take a shadow from")
        return RolloutState(key, "shadow", None, 0.0, {}, keep, shadow=after_shadow)
    if sticky is not None and active is not None:
        return dataclasses.replace(active, sticky=keep)
    raise ValueError(
        f"say what to roll out: keel models rollout {name} --canary challenger --percent 10, "
        "--ab champion=50,challenger=50, --shadow challenger, or --off"
    )


def _canary(
    refs: Refs, canary: str, percent: float | None, sticky: str, shadow: str | None
) -> RolloutState:
    if percent is None:
        raise ValueError(f"say how many callers {canary} gets: --percent P (0 to 100)")
    if not 0 <= percent <= 100:
        raise ValueError(f"--percent must be between 0 and 100, not {percent:g}")
    refs.version(canary, "--canary")
    key = predictive_key(refs.name)
    return RolloutState(key, "canary", canary, float(percent), {}, sticky, shadow=shadow)


def _weights(text: str, refs: Refs) -> dict[str, float]:
    """``champion=70,challenger=30``: each ref a live version, a share of 0 or more."""
    shares: dict[str, float] = {}
    for part in text.split(","):
        ref, sep, number = (p.strip() for p in part.partition("="))
        try:
            share = float(number) if sep else math.nan
        except ValueError:
            share = math.nan
        if not ref or not math.isfinite(share) or share < 0:
            raise ValueError(
                f"cannot read {part.strip()!r} in --ab: write REF=W with a weight of 0 or more, "
                "e.g. --ab champion=70,challenger=30"
            )
        if ref in shares:
            raise ValueError(f"{ref!r} is given twice in --ab")
        refs.version(ref, "--ab")
        shares[ref] = share
    if sum(shares.values()) <= 0:
        raise ValueError("the --ab weights are all 0: give at least one a weight above 0")
    return shares


def _rolled_back(state: RolloutState) -> RolloutState:
    return dataclasses.replace(state, percent=0.0, status="rolled_back")


async def _refs(store: Store, name: str) -> Refs:
    versions = tuple(v.version for v in await store.model_versions(name) if v.archived_at is None)
    if not versions:
        raise ValueError(f"no live version of a model named {name!r} (see keel models list)")
    aliases = {a.alias: a.version for a in await store.model_aliases(name)}
    return Refs(name, versions, aliases)


async def _current(store: Store, name: str) -> RolloutState | None:
    key = predictive_key(name)
    return next((s for s in await store.rollouts() if s.model == key), None)


async def _move(store: Store, name: str, version: int, why: str) -> AliasEvent:
    return await store.move_model_alias(
        AliasMove(name, CHAMPION, version, creator(), why, time.time())
    )


async def _change(
    store: Store, before: RolloutState | None, after: RolloutState, action: str, why: str
) -> RolloutState:
    stored = await store.change_rollout(
        RolloutChange(before, after, action, actor(), why, time.time())
    )
    if stored is None:
        name = after.model.split(":", 1)[1]
        raise RolloutConflict(
            f"the rollout of {name} changed while this change was being made; "
            f"see keel models show {name}, then try again"
        )
    return stored


def _same(a: RolloutState, b: RolloutState) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in _COMPARED)


def _try(refs: Refs, ref: str) -> int | None:
    try:
        return refs.version(ref)
    except ValueError:
        return None

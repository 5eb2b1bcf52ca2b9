"""What each served predictive model's name resolves to, cached per process: its live
versions, its aliases and its rollout (``ModelView``), so that a prediction reads no store.

A model's view is read from the store by its first request; from then on the background task
re-reads the views of the models this process serves every ``predictive.refresh_s`` (0.5 s by
default: an alias moved or a rollout changed anywhere is followed within a second on every
replica), and ``refresh()`` does it at once for a change made in this process.

A view is adopted only once every version it sends traffic to (the champion, the split's
aliases or versions, the shadow) is loaded: a moved alias is warmed in the background while
the previous view keeps answering, so a promotion or a rollback under load fails no request.
A version that cannot be loaded (a damaged artifact) keeps the previous view in place, logged,
and is tried again after ``RETRY_S``; a shadow that cannot be loaded holds nothing up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from keel.serving.split import CHAMPION, ModelSplit
from keel.store.models import ModelAlias, ModelStore, ModelVersion
from keel.store.rollouts import RolloutState, RolloutStore, is_predictive, predictive_key

__all__ = ["RETRY_S", "ModelCache", "ModelView", "ServingStore"]

log = logging.getLogger("keel.serving")

RETRY_S = 10.0  # a version that failed to load is tried again after this long


class ServingStore(ModelStore, RolloutStore, Protocol):
    """What serving reads: the model registry and the rollouts."""


Warm = Callable[[ModelVersion], Awaitable[object]]
Loaded = Callable[[str, int], bool]


@dataclass(frozen=True, slots=True)
class ModelView:
    """One model's registry entry as this process serves it."""

    name: str
    versions: dict[int, ModelVersion]  # the live (unarchived) ones
    aliases: dict[str, int] = field(default_factory=dict)
    rollout: RolloutState | None = None
    split: ModelSplit | None = field(default=None, compare=False)

    def number(self, ref: str) -> int | None:
        """The version an alias or a version number names, None if none."""
        if ref.isdigit():
            return int(ref) if int(ref) in self.versions else None
        return self.aliases.get(ref)

    def champion(self) -> int | None:
        """``champion``'s version, else the newest live one."""
        number = self.aliases.get(CHAMPION)
        if number is not None:
            return number
        return max(self.versions) if self.versions else None

    def shadow(self) -> int | None:
        rollout = self.rollout
        if rollout is None or rollout.status != "active" or rollout.shadow is None:
            return None
        return self.number(rollout.shadow)

    def routed(self) -> set[int]:
        """The live versions its champion, split and shadow send traffic to."""
        numbers = {self.champion(), self.shadow()}
        if self.split is not None:
            numbers.update(self.number(ref) for ref in self.split.refs())
        return {n for n in numbers if n is not None and n in self.versions}


def build_view(
    name: str,
    versions: list[ModelVersion],
    aliases: list[ModelAlias],
    rollout: RolloutState | None,
) -> ModelView:
    live = {v.version: v for v in versions if v.archived_at is None}
    named = {a.alias: a.version for a in aliases if a.name == name}
    return ModelView(name, live, named, rollout, ModelSplit.of(rollout))


class ModelCache:
    """The views of the models this process serves; ``get(name)`` is one dict lookup."""

    def __init__(
        self, store: ServingStore, warm: Warm, loaded: Loaded, interval_s: float = 0.5
    ) -> None:
        self.store = store
        self.warm = warm  # loads a version (raises if it cannot)
        self.loaded = loaded
        self.interval_s = interval_s
        self._views: dict[str, ModelView] = {}
        self.get = self._views.get
        self._lock = asyncio.Lock()
        self._failed: dict[tuple[str, int], float] = {}  # version -> when its load failed
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Refresh now, not at the next interval (a change was made through this process)."""
        self._wake.set()

    async def view(self, name: str) -> ModelView | None:
        """The model's view: cached, else read now and kept (a name with no live version is
        not kept, so unknown names cannot fill the cache)."""
        found = self._views.get(name)
        if found is not None:
            return found
        view = await self.read(name)
        return None if view is None else self._views.setdefault(name, view)

    async def read(self, name: str) -> ModelView | None:
        """The model's view as the store holds it now (not kept), None if none is live."""
        rollout = await self._rollout(name)
        versions = await self.store.model_versions(name)
        view = build_view(name, versions, await self.store.model_aliases(name), rollout)
        return view if view.versions else None

    async def refresh(self) -> None:
        """Re-read every served model's view; adopt each once what it routes to is loaded."""
        async with self._lock:
            names = list(self._views)
            if not names:
                return
            aliases = await self.store.model_aliases()
            states = {s.model: s for s in await self.store.rollouts() if is_predictive(s.model)}
            for name in names:
                versions = await self.store.model_versions(name)
                rollout = states.get(predictive_key(name))
                await self._adopt(build_view(name, versions, aliases, rollout))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="keel-model-cache")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            try:
                await self.refresh()
            except Exception as exc:  # the store is away: keep serving what is cached
                log.warning("model cache refresh failed, retrying in %gs: %s", self.interval_s, exc)

    async def _rollout(self, name: str) -> RolloutState | None:
        key = predictive_key(name)
        return next((s for s in await self.store.rollouts() if s.model == key), None)

    async def _adopt(self, view: ModelView) -> None:
        old = self._views.get(view.name)
        if not view.versions:  # every version archived: nothing left to serve
            self._views.pop(view.name, None)
            return
        cold = [view.versions[n] for n in sorted(view.routed()) if not self.loaded(view.name, n)]
        results = await asyncio.gather(*(self._warmed(v) for v in cold))
        failed = {record.version for record in results if record is not None}
        if failed - {view.shadow()} and old is not None:
            return  # keep answering with the previous view; tried again after RETRY_S
        if old != view:
            _log_change(old, view)
        self._views[view.name] = view

    async def _warmed(self, record: ModelVersion) -> ModelVersion | None:
        """Load one version: None once it is loaded, the record if it cannot be (yet)."""
        key = (record.name, record.version)
        failed_at = self._failed.get(key)
        if failed_at is not None and time.monotonic() - failed_at < RETRY_S:
            return record
        try:
            await self.warm(record)
        except Exception as exc:
            self._failed[key] = time.monotonic()
            log.error(
                "%s version %d cannot be loaded, so this process keeps serving the versions "
                "it had: %s",
                record.name,
                record.version,
                exc,
            )
            return record
        self._failed.pop(key, None)
        return None


def _log_change(old: ModelView | None, new: ModelView) -> None:
    if old is None or old.aliases != new.aliases:
        named = ", ".join(f"{a}={v}" for a, v in sorted(new.aliases.items())) or "none"
        log.info("model %s: aliases %s", new.name, named)
    if new.rollout is not None and (old is None or old.rollout != new.rollout):
        state = new.rollout
        log.info("model %s: rollout version %d (%s)", new.name, state.version, state.status)

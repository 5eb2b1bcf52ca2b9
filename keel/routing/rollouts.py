"""The live rollout splits of one gateway: the config's at start, then the store's.

Every ``server.rollout_refresh_s`` the gateway reads the stored splits; a stored split
overrides the config's, so ``keel rollout set`` on any machine reaches every gateway (and every
replica sharing a PostgreSQL store) without a restart. A store that cannot be read is logged and
tried again; the gateway keeps routing with what it has.

An automatic rollback is applied here at once, then written to the store (with its event) by
the refresh task; the other gateways follow on their next refresh. The write names the version
it was decided on, so of two gateways deciding at once only one writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable

from keel.config.schema import KeelConfig, ModelConfig
from keel.routing.split import Split, config_state, describe, misfit
from keel.store.rollouts import RolloutChange, RolloutState, RolloutStore, is_predictive

__all__ = ["AUTO_ACTOR", "Rollouts"]

log = logging.getLogger("keel.rollout")

AUTO_ACTOR = "keel:auto"


class Rollouts:
    """The splits the router consults: ``get(model)`` is one dict lookup, None for a model
    without a rollout."""

    def __init__(
        self,
        config: KeelConfig,
        store: RolloutStore | None = None,
        on_rollback: Callable[[str], None] | None = None,
    ) -> None:
        self.specs: dict[str, ModelConfig] = dict(config.models)
        self.store = store
        self.on_rollback = on_rollback
        self._live: dict[str, Split] = {}
        # Bound once: the router's per-request lookup is a bare dict.get, no Python frame.
        self.get: Callable[[str], Split | None] = self._live.get
        for name, spec in self.specs.items():
            if spec.rollout is not None:
                self._live[name] = self._split(config_state(name, spec.rollout), "config")
        self._pending: dict[str, RolloutChange] = {}  # rollbacks applied here, not yet stored
        self._ignored: set[tuple[str, int]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def splits(self) -> dict[str, Split]:
        return dict(self._live)

    def arm(self, model: str, deployment: str | None) -> str:
        """The rollout arm a call to ``model`` answered by ``deployment`` was in: ``canary``
        or ``baseline`` in a canary, the deployment in an A/B test, ``-`` without a rollout."""
        split = self._live.get(model)
        if split is None or deployment is None:
            return "-"
        if split.state.mode == "canary":
            return "canary" if deployment == split.state.canary else "baseline"
        return deployment

    async def start(self, interval_s: float) -> None:
        """Load the stored splits, then keep them fresh in the background."""
        with contextlib.suppress(Exception):
            await self._refresh_logged(interval_s)
        self._task = asyncio.create_task(self._run(interval_s), name="keel-rollouts")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pending and self.store is not None:
            # A rollback decided just before shutdown is still worth recording.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._flush(), timeout=2.0)

    async def refresh(self) -> None:
        """Write pending rollbacks, then adopt every stored split that is new to this gateway."""
        if self.store is None:
            return
        await self._flush()
        # A predictive model's split (keel.serving) shares the store: never a logical model's.
        states = await self.store.rollouts()
        stored = {state.model: state for state in states if not is_predictive(state.model)}
        for state in stored.values():
            self._adopt(state)
        for model, split in list(self._live.items()):
            if split.source == "store" and model not in stored and model not in self._pending:
                self._fall_back(model)  # its stored split is gone (a store reset)

    async def _run(self, interval_s: float) -> None:
        while True:
            self._wake.clear()
            with contextlib.suppress(Exception):
                await self._refresh_logged(interval_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval_s)

    async def _refresh_logged(self, interval_s: float) -> None:
        try:
            await self.refresh()
        except Exception as exc:
            log.warning("rollout refresh failed, retrying in %gs: %s", interval_s, exc)
            raise

    def _adopt(self, state: RolloutState) -> None:
        spec = self.specs.get(state.model)
        current = self._live.get(state.model)
        if spec is None or (current is not None and _same_version(current, state)):
            return
        pending = self._pending.get(state.model)
        before = pending.before if pending is not None else None
        if before is not None and state.version <= before.version:
            return  # the version this gateway rolled back: keep it rolled back
        problem = misfit(state, spec.deployments)
        if problem is not None:
            if (state.model, state.version) not in self._ignored:
                self._ignored.add((state.model, state.version))
                log.warning(
                    "ignoring the stored rollout of %s (version %d): %s. "
                    "Fix it with: keel rollout set %s ...",
                    state.model, state.version, problem, state.model,
                )  # fmt: skip
            return
        self._live[state.model] = self._split(state, "store")
        log.info("rollout of %s: %s (version %d)", state.model, describe(state, spec.deployments),
                 state.version)  # fmt: skip

    def _fall_back(self, model: str) -> None:
        rollout = self.specs[model].rollout
        if rollout is None:
            del self._live[model]
        else:
            self._live[model] = self._split(config_state(model, rollout), "config")

    def _split(self, state: RolloutState, source: str) -> Split:
        return Split(state, self.specs[state.model], source, self._trip)

    def _trip(self, split: Split, reason: str) -> None:
        """The canary did worse: route around it now, record it as soon as the store allows."""
        state = split.state
        rolled_back = dataclasses.replace(state, percent=0.0, status="rolled_back")
        self._live[state.model] = Split(rolled_back, self.specs[state.model], split.source)
        log.warning("rolled back the canary of %s: %s", state.model, reason)
        if self.on_rollback is not None:
            self.on_rollback(state.model)
        if self.store is not None:
            change = RolloutChange(state, rolled_back, "auto_rollback", AUTO_ACTOR, reason,
                                   time.time())  # fmt: skip
            self._pending[state.model] = change
            self._wake.set()

    async def _flush(self) -> None:
        assert self.store is not None
        for model, change in list(self._pending.items()):
            stored = await self.store.change_rollout(change)  # on error: kept, tried again
            del self._pending[model]
            if stored is None:
                log.warning(
                    "the rollout of %s changed in the store before its rollback was written; "
                    "following the store", model,
                )  # fmt: skip
            else:
                self._live[model] = self._split(stored, "store")


def _same_version(split: Split, state: RolloutState) -> bool:
    return split.source == "store" and split.state.version == state.version

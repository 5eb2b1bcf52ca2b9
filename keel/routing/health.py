"""Active health probes: between requests, ask each deployment with ``health.probe`` if it is up.

One task per probed deployment. After ``unhealthy_after`` failed probes in a row its breaker is
tripped (held open: not even the breaker's half-open request goes there); after
``healthy_after`` good ones in a row it is reset, and traffic goes there again at once. Each
deployment's first probe waits a random part of one interval, so many deployments (or many
gateways started together) do not probe in lockstep.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from keel.config.schema import DeploymentConfig, HealthConfig
from keel.providers.base import Provider
from keel.routing.breaker import Breaker

__all__ = ["Probed", "Prober", "Watch"]

log = logging.getLogger("keel.health")

Change = Literal["down", "up"]


class Probed(Protocol):
    """What the prober needs of a deployment (the router's ``Target`` has it)."""

    deployment: DeploymentConfig
    provider: Provider
    breaker: Breaker


@dataclass(slots=True)
class Watch:
    """One deployment's probe results, counted: a deployment starts up, and only a run of
    ``unhealthy_after`` failures takes it down (one lost probe is not an outage)."""

    config: HealthConfig
    up: bool = True
    failures: int = 0  # failed probes in a row
    successes: int = 0  # good probes in a row
    reason: str | None = None  # why the last probe failed, until the deployment is fine again

    def observe(self, reason: str | None) -> Change | None:
        """Count one probe (``reason`` None: healthy); say whether the deployment flipped."""
        if reason is None:
            self.failures, self.successes = 0, self.successes + 1
            if self.up:
                self.reason = None
            elif self.successes >= self.config.healthy_after:
                self.up, self.reason = True, None
                return "up"
            return None
        self.failures, self.successes, self.reason = self.failures + 1, 0, reason
        if self.up and self.failures >= self.config.unhealthy_after:
            self.up = False
            return "down"
        return None

    def describe(self) -> dict[str, str]:
        state = {"probe": "up" if self.up else "down"}
        return state if self.reason is None else {**state, "reason": self.reason}


class Prober:
    """Probes the deployments whose ``health.probe`` is on; ``start`` and ``close`` it once."""

    def __init__(self, targets: Iterable[Probed], rng: random.Random | None = None) -> None:
        self.targets = {t.deployment.name: t for t in targets if t.deployment.health.probe}
        self.watches = {name: Watch(t.deployment.health) for name, t in self.targets.items()}
        self.rng = rng or random.Random()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(name), name=f"keel-probe-{name}") for name in self.targets
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def first_wait_s(self, name: str) -> float:
        return self.rng.uniform(0, self.targets[name].deployment.health.interval_s)

    async def check(self, name: str) -> Change | None:
        """Probe one deployment once, and take it out of rotation or bring it back."""
        target, watch = self.targets[name], self.watches[name]
        change = watch.observe(await _probe(target))
        if change == "down":
            target.breaker.trip()
            log.warning(
                "deployment %s is down (%s; %d failed health probes in a row): "
                "no traffic goes there until a probe succeeds",
                name, watch.reason, watch.failures,
            )  # fmt: skip
        elif change == "up":
            target.breaker.reset()
            log.warning(
                "deployment %s is up again (%d good health probes in a row): traffic resumes",
                name, watch.successes,
            )  # fmt: skip
        return change

    async def _run(self, name: str) -> None:
        await asyncio.sleep(self.first_wait_s(name))
        interval = self.targets[name].deployment.health.interval_s
        while True:
            await self.check(name)
            await asyncio.sleep(interval)


async def _probe(target: Probed) -> str | None:
    """None when healthy, else a short reason. The timeout is kept here too, so that no
    adapter's probe can hang the loop."""
    timeout = target.deployment.health.timeout_s
    try:
        async with asyncio.timeout(timeout):
            return await target.provider.probe()
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except Exception as exc:  # a bug in one adapter's probe must not end the probing
        return f"probe failed: {type(exc).__name__}: {exc}"

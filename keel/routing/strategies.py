"""How a logical model orders its deployments for one request.

The first in the order gets the request; the rest are the failover order. Every strategy
returns all candidates, so failover never depends on which one was picked first.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keel.routing.router import Target

__all__ = ["EXPLORE", "LatencyWatch", "order"]

EXPLORE = 0.1  # least-latency: share of requests that try another deployment first
_ALPHA = 0.2  # weight of the newest sample in the moving average


class LatencyWatch:
    """A moving average of each deployment's latency (time to first token for streams)."""

    def __init__(self) -> None:
        self.average: dict[str, float] = {}

    def observe(self, deployment: str, seconds: float) -> None:
        old = self.average.get(deployment)
        self.average[deployment] = seconds if old is None else old + _ALPHA * (seconds - old)


def order(
    strategy: str,
    targets: Sequence[Target],
    weights: dict[str, float],
    latency: LatencyWatch,
    rng: random.Random,
) -> list[Target]:
    return _STRATEGIES[strategy](list(targets), weights, latency, rng)


def _priority(
    targets: list[Target], _w: dict[str, float], _l: LatencyWatch, _r: random.Random
) -> list[Target]:
    return targets


def _weighted(
    targets: list[Target], weights: dict[str, float], _l: LatencyWatch, rng: random.Random
) -> list[Target]:
    share = [weights.get(t.deployment.name, 1.0) for t in targets]
    if sum(share) <= 0:
        return targets
    first = rng.choices(range(len(targets)), weights=share)[0]
    rest = sorted((t for i, t in enumerate(targets) if i != first),
                  key=lambda t: -weights.get(t.deployment.name, 1.0))  # fmt: skip
    return [targets[first], *rest]


def _least_busy(
    targets: list[Target], _w: dict[str, float], _l: LatencyWatch, _r: random.Random
) -> list[Target]:
    return sorted(targets, key=lambda t: t.in_flight)  # stable: ties keep config order


def _least_cost(
    targets: list[Target], _w: dict[str, float], _l: LatencyWatch, _r: random.Random
) -> list[Target]:
    def price(t: Target) -> float:
        p = t.deployment.prices
        return p.input_per_mtok + p.output_per_mtok + p.per_request * 1e6

    return sorted(targets, key=price)


def _least_latency(
    targets: list[Target], _w: dict[str, float], latency: LatencyWatch, rng: random.Random
) -> list[Target]:
    # Unmeasured deployments first (so each gets measured), then fastest first. Now and then
    # another one goes first, so a deployment that was slow and recovered is seen again.
    ranked = sorted(targets, key=lambda t: latency.average.get(t.deployment.name, -1.0))
    if len(ranked) > 1 and rng.random() < EXPLORE:
        pick = rng.randrange(1, len(ranked))
        ranked.insert(0, ranked.pop(pick))
    return ranked


_Strategy = Callable[
    [list["Target"], dict[str, float], LatencyWatch, random.Random], list["Target"]
]
_STRATEGIES: dict[str, _Strategy] = {
    "priority": _priority,
    "weighted": _weighted,
    "least-busy": _least_busy,
    "least-cost": _least_cost,
    "least-latency": _least_latency,
}

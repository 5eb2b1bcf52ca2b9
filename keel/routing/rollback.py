"""The automatic rollback decision: is the canary doing worse than the baseline?

Each side's attempts since the split's current version are tallied: how many, how many failed,
and the durations of the successful ones. Once both sides have ``min_requests``, the canary is
judged worse if its error rate is higher by more than ``max_error_rate_increase`` (absolute), or
its p95 latency is more than ``max_p95_ratio`` times the baseline's and also more than
``min_p95_increase_ms`` above it: between two fast deployments, a millisecond of scheduling
jitter is a large ratio and no reason to roll anything back.
"""

from __future__ import annotations

import bisect
import math
import random

from keel.config.schema import AutoRollbackConfig

__all__ = ["SAMPLE", "AttemptTally", "verdict"]

SAMPLE = 2048  # durations kept per side: exact p95 up to this many, a uniform sample beyond


class AttemptTally:
    """Attempts on one deployment. The durations are a reservoir sample kept sorted, so adding
    one is a C-level insert and the p95 is a lookup: both cheap enough for every attempt."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.count = 0
        self.errors = 0
        self.successes = 0
        self.durations: list[float] = []
        self._rng = rng or random.Random()

    def add(self, ok: bool, seconds: float) -> None:
        self.count += 1
        if not ok:
            self.errors += 1
            return
        self.successes += 1
        if len(self.durations) < SAMPLE:
            bisect.insort(self.durations, seconds)
            return
        # Algorithm R: the newcomer replaces a random kept duration with probability
        # SAMPLE / successes; which slot it replaces does not matter, so the list stays sorted.
        slot = self._rng.randrange(self.successes)
        if slot < SAMPLE:
            del self.durations[slot]
            bisect.insort(self.durations, seconds)

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0

    def p95(self) -> float | None:
        """Nearest-rank 95th percentile of the successful durations; None without any."""
        if not self.durations:
            return None
        return self.durations[math.ceil(0.95 * len(self.durations)) - 1]


def verdict(canary: AttemptTally, baseline: AttemptTally, rule: AutoRollbackConfig) -> str | None:
    """Why the canary should be rolled back, with the numbers; None while it may stay."""
    if min(canary.count, baseline.count) < rule.min_requests:
        return None
    seen = f"over {canary.count} canary and {baseline.count} baseline attempts"
    increase = canary.error_rate - baseline.error_rate
    if increase > rule.max_error_rate_increase:
        return (
            f"error rate {canary.error_rate:.1%} on the canary against {baseline.error_rate:.1%} "
            f"on the baseline (+{increase:.1%}, allowed +{rule.max_error_rate_increase:.1%}), "
            + seen
        )
    slow, usual = canary.p95(), baseline.p95()
    if slow is None or not usual or (slow - usual) * 1000 < rule.min_p95_increase_ms:
        return None
    if slow / usual > rule.max_p95_ratio:
        return (
            f"p95 latency {slow * 1000:.1f} ms on the canary against {usual * 1000:.1f} ms on "
            f"the baseline (x{slow / usual:.2f}, allowed x{rule.max_p95_ratio:g}), " + seen
        )
    return None

"""The automatic rollback decision, on tallies built by hand."""

from __future__ import annotations

import random

import pytest

from keel.config.schema import AutoRollbackConfig
from keel.routing.rollback import SAMPLE, AttemptTally, verdict

RULE = AutoRollbackConfig(min_requests=50, max_error_rate_increase=0.05, max_p95_ratio=1.5)


def tally(attempts: int, errors: int = 0, seconds: float = 0.1) -> AttemptTally:
    t = AttemptTally()
    for i in range(attempts):
        t.add(i >= errors, seconds)
    return t


def test_nothing_is_judged_before_both_sides_have_min_requests() -> None:
    assert verdict(tally(49, errors=49), tally(500), RULE) is None
    assert verdict(tally(500, errors=500), tally(49), RULE) is None


def test_a_canary_failing_more_by_more_than_the_margin_is_rolled_back() -> None:
    reason = verdict(tally(100, errors=12), tally(100, errors=2), RULE)
    assert reason is not None
    assert "12.0%" in reason and "2.0%" in reason and "+10.0%" in reason
    assert "100 canary and 100 baseline attempts" in reason


def test_an_increase_within_the_margin_is_tolerated() -> None:
    assert verdict(tally(100, errors=6), tally(100, errors=2), RULE) is None
    assert verdict(tally(100, errors=7), tally(100, errors=2), RULE) is None  # exactly +5 points
    assert verdict(tally(100, errors=0), tally(100, errors=30), RULE) is None  # better


def test_a_canary_slower_at_p95_by_more_than_the_ratio_is_rolled_back() -> None:
    reason = verdict(tally(100, seconds=0.4), tally(100, seconds=0.2), RULE)
    assert reason is not None and "400.0 ms" in reason and "200.0 ms" in reason
    assert "x2.00" in reason
    assert verdict(tally(100, seconds=0.29), tally(100, seconds=0.2), RULE) is None


def test_a_p95_difference_below_the_floor_is_noise() -> None:
    # 1.8 ms against 1 ms is x1.8, but under the default 5 ms floor: jitter, not a regression.
    assert verdict(tally(100, seconds=0.0018), tally(100, seconds=0.001), RULE) is None
    assert verdict(tally(100, seconds=0.0061), tally(100, seconds=0.001), RULE) is not None
    no_floor = RULE.model_copy(update={"min_p95_increase_ms": 0.0})
    assert verdict(tally(100, seconds=0.0018), tally(100, seconds=0.001), no_floor) is not None


def test_p95_is_the_nearest_rank_95th_percentile() -> None:
    t = AttemptTally()
    for ms in range(1, 101):
        t.add(True, ms / 1000)
    t.add(False, 99.0)  # a failure's duration is not a latency
    assert t.p95() == pytest.approx(0.095)
    assert (t.count, t.errors) == (101, 1)
    assert AttemptTally().p95() is None


def test_a_canary_that_never_succeeds_is_judged_on_errors_alone() -> None:
    assert verdict(tally(50, errors=50), tally(50), RULE) is not None


def test_the_sample_stays_bounded_and_representative() -> None:
    t = AttemptTally(random.Random(7))
    rng = random.Random(1)
    for _ in range(20 * SAMPLE):
        t.add(True, rng.uniform(0, 1))
    assert len(t.durations) == SAMPLE
    assert t.durations == sorted(t.durations)
    p95 = t.p95()
    assert p95 is not None and 0.93 < p95 < 0.97

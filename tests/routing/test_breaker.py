"""The circuit breaker's states, driven by an explicit clock."""

from __future__ import annotations

from keel.config.schema import BreakerConfig
from keel.routing.breaker import Breaker, BreakerState


def breaker(**settings: object) -> Breaker:
    return Breaker(BreakerConfig.model_validate({"failures": 3, "window_s": 10,
                                                 "cooldown_s": 5, **settings}))  # fmt: skip


def test_opens_after_failures_within_the_window() -> None:
    b = breaker()
    b.failure(0)
    b.failure(1)
    assert b.state is BreakerState.CLOSED and b.allow(1)
    b.failure(2)
    assert b.state is BreakerState.OPEN and not b.allow(3)
    assert b.retry_after_s(3) == 4  # opened at 2, rests 5 s


def test_old_failures_fall_out_of_the_window() -> None:
    b = breaker()
    b.failure(0)
    b.failure(1)
    b.failure(12)  # the first two are older than 10 s by now
    assert b.state is BreakerState.CLOSED


def test_a_success_forgets_the_failures() -> None:
    b = breaker()
    b.failure(0)
    b.failure(1)
    b.success()
    b.failure(2)
    assert b.state is BreakerState.CLOSED


def test_half_open_lets_exactly_one_probe_through() -> None:
    b = breaker()
    for t in (0, 0, 0):
        b.failure(t)
    assert not b.allow(4.9)
    assert b.allow(5) and b.state is BreakerState.HALF_OPEN
    assert not b.allow(5.1)  # one probe at a time


def test_a_good_probe_closes_a_bad_one_reopens() -> None:
    b = breaker()
    for t in (0, 0, 0):
        b.failure(t)
    assert b.allow(5)
    b.failure(5.5)
    assert b.state is BreakerState.OPEN and not b.allow(6)
    assert b.allow(10.5)
    b.success()
    assert b.state is BreakerState.CLOSED and b.allow(10.6)


def test_a_probe_that_never_reports_back_is_replaced() -> None:
    b = breaker()
    for t in (0, 0, 0):
        b.failure(t)
    assert b.allow(5)
    assert not b.allow(9)
    assert b.allow(10)  # the first probe's caller went away; try again


def test_disabled_never_opens() -> None:
    b = breaker(enabled=False)
    for t in range(10):
        b.failure(t)
    assert b.state is BreakerState.CLOSED and b.allow(10)


def test_a_trip_holds_it_open_without_a_half_open_request() -> None:
    b = breaker()
    b.trip(0)
    assert b.state is BreakerState.OPEN and b.held and not b.up
    assert not b.allow(5) and not b.allow(1000)  # no cooldown ends a hold
    assert b.state is BreakerState.OPEN


def test_answers_in_flight_do_not_end_a_hold() -> None:
    b = breaker()
    b.trip(0)
    b.success()  # a request sent before the trip comes back fine
    assert b.held and not b.allow(10)
    b.failure(10)
    assert b.held and not b.allow(20)


def test_reset_ends_a_hold_and_lets_traffic_through_at_once() -> None:
    b = breaker()
    b.failure(0)
    b.failure(0)
    b.trip(1)
    b.reset()
    assert b.state is BreakerState.CLOSED and b.up and b.allow(1)
    b.failure(2)
    b.failure(2)
    assert b.state is BreakerState.CLOSED  # the earlier failures were forgotten
    b.failure(2)
    assert b.state is BreakerState.OPEN  # and the passive breaker works as before


def test_a_trip_holds_even_a_disabled_breaker() -> None:
    b = breaker(enabled=False)
    b.trip(0)
    assert not b.allow(100)
    b.reset()
    assert b.allow(100)


def test_on_change_is_told_when_up_flips_and_only_then() -> None:
    b = breaker()
    seen: list[bool] = []
    b.on_change = seen.append
    for t in (0, 0, 0):
        b.failure(t)
    assert b.allow(5)  # half-open is still not up
    b.success()
    b.success()
    assert seen == [False, True]
    b.trip(6)
    b.failure(7)
    b.reset()
    b.reset()
    assert seen == [False, True, False, True]
    for t in (8, 8, 8):
        b.failure(t)
    b.trip(9)  # already out of rotation: no news
    assert seen == [False, True, False, True, False]

"""The admit stage with the clock in the test's hands: window edges, period roll-over and
time zones, seeding from the records, and what happens when the state backend is down.
Each test runs on memory:// and on a real Redis."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keel.call import Call, Principal, Usage
from keel.config.finops import StateConfig
from keel.config.schema import KeelConfig
from keel.errors import BudgetExceeded, RateLimited, StateUnavailable
from keel.finops.periods import period_at
from keel.monitor.metrics import Metrics
from keel.pipeline.admit import Admit
from keel.state import StateBackend, open_state
from keel.store import opened_store
from keel.store.base import Store
from tests.e2e.procs import free_port
from tests.store.conftest import make_row


class Clock:
    """keel's clock, set by the test. (Redis drops a budget's counter a day after its period
    ends by its own clock: the dates here lie in the future.)"""

    def __init__(self, when: datetime) -> None:
        self.now = when.timestamp()

    def __call__(self) -> float:
        return self.now

    def at(self, when: datetime) -> None:
        self.now = when.timestamp()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def config(prefix: str, **sections: Any) -> KeelConfig:
    return KeelConfig.model_validate({
        "regions": {"local": {}},
        "deployments": [{"name": "s", "provider": "sim", "model": "sim", "region": "local",
                         "price": {"input_per_mtok": 0, "output_per_mtok": 1000}}],
        "models": {"m": ["s"]},
        "teams": {"t": {}},
        "state": {"url": "memory://", "prefix": prefix},
        **sections,
    })  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened_store(f"sqlite:///{tmp_path / 'keel.db'}") as opened:
        yield opened


def call(max_tokens: int = 10, key: str = "k1") -> Call:
    c = Call(id="r", endpoint="chat", body={"model": "m", "max_tokens": max_tokens,
             "messages": [{"role": "user", "content": "hi"}]}, model="m", stream=False)  # fmt: skip
    c.principal = Principal(team="t", key_id=key, models=("*",))
    return c


async def run(admit: Admit, c: Call, tokens: int = 10) -> None:
    """One whole call: admitted, answered with ``tokens`` tokens at $0.001 each, settled."""
    await admit.before(c)
    c.usage = Usage(3, tokens)
    c.cost_usd = tokens * 1000 / 1e6
    await admit.after(c)


def daily(limit: float, zone: str = "Europe/Berlin", **more: Any) -> dict[str, Any]:
    return {"name": "day", "scope": "team", "limit_usd": limit, "period": "day",
            "timezone": zone, **more}  # fmt: skip


async def test_a_day_budget_resets_at_local_midnight(
    state: StateBackend, store: Store, prefix: str
) -> None:
    clock = Clock(utc(2027, 11, 20, 22, 30))  # 23:30 in Berlin (UTC+1)
    admit = Admit(config(prefix, budgets=[daily(0.02)]), state, store, Metrics(), clock)
    await run(admit, call())
    await run(admit, call())
    with pytest.raises(BudgetExceeded) as refused:
        await admit.before(call())
    assert refused.value.retry_after_ms == 30 * 60 * 1000  # local midnight is 23:00 UTC
    assert refused.value.headers()["retry-after"] == "1800"
    assert "2027-11-21T00:00:00+01:00" in refused.value.message
    assert "$0.0200 spent" in refused.value.message
    clock.at(utc(2027, 11, 20, 22, 59, 59))
    with pytest.raises(BudgetExceeded) as edge:
        await admit.before(call())
    assert edge.value.headers()["retry-after"] == "1"
    clock.at(utc(2027, 11, 20, 23, 0, 0))
    fresh = call()
    await admit.before(fresh)  # a new day in Berlin: a new budget
    assert fresh.limit_headers is not None
    assert fresh.limit_headers["x-keel-budget-remaining-usd"] == "0.010000"


async def test_the_same_instant_is_another_day_in_another_zone(
    state: StateBackend, store: Store, prefix: str
) -> None:
    budgets = [daily(0.01, "Asia/Tokyo", name="tokyo"), daily(0.01, "America/New_York",
               name="ny")]  # fmt: skip
    clock = Clock(utc(2027, 11, 20, 14, 59))  # Tokyo 23:59 on the 20th; New York 09:59
    admit = Admit(config(prefix, budgets=budgets), state, store, Metrics(), clock)
    await run(admit, call())
    with pytest.raises(BudgetExceeded) as refused:
        await admit.before(call())
    # Both are spent; the wait is the longer one: until New York's midnight (05:00 UTC).
    assert "'ny'" in refused.value.message
    assert refused.value.retry_after_ms == (14 * 60 + 1) * 60_000
    clock.at(utc(2027, 11, 20, 15, 0))  # a new day in Tokyo, not yet in New York
    with pytest.raises(BudgetExceeded) as still:
        await admit.before(call())
    assert "'ny'" in still.value.message and "2027-11-20" in still.value.message
    assert still.value.retry_after_ms == 14 * 3600 * 1000
    clock.at(utc(2027, 11, 21, 5, 0))
    await admit.before(call())


async def test_a_month_budget_rolls_over_and_a_week_starts_on_monday(
    state: StateBackend, store: Store, prefix: str
) -> None:
    month = {"name": "month", "scope": "key", "limit_usd": 0.01, "period": "month",
             "timezone": "America/New_York"}  # fmt: skip
    clock = Clock(utc(2027, 12, 1, 4, 59, 30))  # New York: Nov 30, 23:59:30
    admit = Admit(config(prefix, budgets=[month]), state, store, Metrics(), clock)
    await run(admit, call())
    with pytest.raises(BudgetExceeded) as refused:
        await admit.before(call())
    assert refused.value.retry_after_ms == 30_000
    assert "2027-11" in refused.value.message
    clock.at(utc(2027, 12, 1, 5, 0))
    await run(admit, call())  # December in New York
    other_key = call(key="k2")
    await admit.before(other_key)  # each key has its own budget under match "*"
    week = period_at("week", "UTC", utc(2026, 12, 2, 12).timestamp())  # a Wednesday
    assert week.label == "2026-W49" and week.start == utc(2026, 11, 30).timestamp()


async def test_a_day_of_a_dst_change_is_as_long_as_the_wall_clock_says() -> None:
    spring = period_at("day", "Europe/Berlin", utc(2026, 3, 29, 12).timestamp())
    assert spring.end - spring.start == 23 * 3600
    autumn = period_at("day", "Europe/Berlin", utc(2026, 10, 25, 12).timestamp())
    assert autumn.end - autumn.start == 25 * 3600


async def test_rpm_window_edges_and_headers(state: StateBackend, store: Store, prefix: str) -> None:
    limit = {"name": "rpm", "scope": "key", "rpm": 3, "tpm": 100}
    clock = Clock(utc(2027, 11, 20, 12, 0, 0))
    admit = Admit(config(prefix, rate_limits=[limit]), state, store, Metrics(), clock)
    first = call()
    await run(admit, first)
    assert first.limit_headers == {
        "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "2",
        "x-ratelimit-reset-requests": "1m0s", "x-ratelimit-limit-tokens": "100",
        "x-ratelimit-remaining-tokens": "82", "x-ratelimit-reset-tokens": "1m0s",
    }  # fmt: skip
    # 18 tokens admitted: the prompt [{"role":"user","content":"hi"}] is 31 bytes, about
    # (31 + 3) // 4 = 8 tokens, plus max_tokens 10.
    clock.now += 20
    await run(admit, call())
    clock.now += 20
    await run(admit, call())
    clock.now += 19.5  # 59.5 s after the first
    with pytest.raises(RateLimited) as refused:
        await admit.before(call())
    assert refused.value.retry_after_ms == 500
    assert refused.value.headers()["retry-after"] == "1"
    clock.now += 0.5  # exactly a minute after the first: it has left the window
    await admit.before(call())


async def test_tokens_are_counted_at_admission_and_corrected_after(
    state: StateBackend, store: Store, prefix: str
) -> None:
    limit = {"name": "tpm", "scope": "team", "tpm": 100}
    clock = Clock(utc(2027, 11, 20, 12))
    admit = Admit(config(prefix, rate_limits=[limit]), state, store, Metrics(), clock)
    big = call(max_tokens=60)
    await admit.before(big)
    assert big.limit_headers is not None
    taken = 100 - int(big.limit_headers["x-ratelimit-remaining-tokens"])
    assert taken > 60  # the prompt, estimated, plus max_tokens
    with pytest.raises(RateLimited):
        await admit.before(call(max_tokens=60))
    big.usage, big.cost_usd = Usage(3, 5), 0.0  # it used 8 tokens in the end
    await admit.after(big)
    await admit.before(call(max_tokens=60))  # room again: corrected to 8
    with pytest.raises(RateLimited) as never:
        await admit.before(call(max_tokens=200))
    assert never.value.code == "tokens_exceed_limit"
    assert never.value.headers()["x-should-retry"] == "false"


async def test_concurrency_slots_free_when_the_call_is_over(
    state: StateBackend, store: Store, prefix: str
) -> None:
    limit = {"name": "cc", "scope": "model", "match": "m", "concurrency": 2}
    admit = Admit(config(prefix, rate_limits=[limit]), state, store, Metrics(), time.time)
    a, b = call(), call()
    await admit.before(a)
    await admit.before(b)
    with pytest.raises(RateLimited) as refused:
        await admit.before(call())
    assert "already in flight" in refused.value.message
    await admit.after(a)
    await admit.before(call())


async def test_a_new_counter_starts_from_what_the_records_say_was_spent(
    state: StateBackend, store: Store, prefix: str
) -> None:
    now = utc(2027, 11, 20, 12)
    await store.write_usage([
        make_row(team="t", cost_usd=0.015, ts=utc(2027, 11, 20, 1).timestamp()),
        make_row(team="t", cost_usd=0.004, ts=utc(2027, 11, 19, 23).timestamp()),  # yesterday
        make_row(team="other", cost_usd=0.5, ts=utc(2027, 11, 20, 2).timestamp()),
    ])  # fmt: skip
    admit = Admit(config(prefix, budgets=[daily(0.03, "UTC")]), state, store, Metrics(),
                  Clock(now))  # fmt: skip
    await run(admit, call())  # 0.015 + 0.01 = 0.025: fits
    with pytest.raises(BudgetExceeded) as refused:
        await admit.before(call())
    assert "$0.0250 spent" in refused.value.message


async def test_state_unreachable_fails_closed_for_hard_budgets_and_open_for_the_rest(
    store: Store, prefix: str
) -> None:
    down = open_state(StateConfig(url=f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2))
    metrics = Metrics()
    limit = {"name": "rpm", "scope": "key", "rpm": 3}
    hard = Admit(config(prefix, budgets=[daily(1.0)], rate_limits=[limit]), down, store,
                 metrics)  # fmt: skip
    with pytest.raises(StateUnavailable) as refused:
        await hard.before(call())
    assert "budget 'day'" in refused.value.message and "fail_open" in refused.value.message
    assert refused.value.status == 503
    soft = Admit(config(prefix, budgets=[daily(1.0, mode="soft")], rate_limits=[limit]), down,
                 store, metrics)  # fmt: skip
    admitted = call()
    await soft.before(admitted)  # admitted, uncounted
    assert admitted.admission is None
    opened = Admit(config(prefix, budgets=[daily(1.0, on_state_error="fail_open")]), down,
                   store, metrics)  # fmt: skip
    await opened.before(call())
    samples = metrics.render().decode()
    assert 'keel_state_unchecked_total{outcome="fail_closed"} 1.0' in samples
    assert 'keel_state_unchecked_total{outcome="fail_open"} 2.0' in samples
    await down.close()


async def test_a_project_budget_holds_the_keys_tagged_with_it(
    state: StateBackend, store: Store, prefix: str
) -> None:
    budget = {"name": "proj", "scope": "project", "match": "search", "limit_usd": 0.01}
    admit = Admit(config(prefix, budgets=[budget]), state, store, Metrics(), time.time)
    tagged = call(key="k1")
    assert tagged.principal is not None
    tagged.principal.project = "search"
    await run(admit, tagged)
    again = call(key="k2")  # another key of the same project shares the budget
    assert again.principal is not None
    again.principal.project = "search"
    with pytest.raises(BudgetExceeded) as refused:
        await admit.before(again)
    assert "project search" in refused.value.message
    untagged = call(key="k3")  # no project: the budget does not apply
    await admit.before(untagged)
    assert untagged.admission is None

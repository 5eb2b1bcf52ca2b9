"""The admit stage's budget gauges, which the budget alerts of deploy/prometheus read: each
budget's cap from the config, each subject's settled spend, back to 0 when a period ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keel.monitor.metrics import Metrics
from keel.pipeline.admit import Admit
from keel.state import StateBackend
from keel.store import opened_store
from keel.store.base import Store
from tests.pipeline.test_admit import Clock, call, config, daily, run, utc


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened_store(f"sqlite:///{tmp_path / 'keel.db'}") as opened:
        yield opened


def sample(metrics: Metrics, line: str) -> float | None:
    """The value of the sample that ``line`` (name and labels) names, if it is exported."""
    for text in metrics.render().decode().splitlines():
        if text.startswith(line + " "):
            return float(text.rsplit(" ", 1)[1])
    return None


async def test_caps_are_shown_from_the_start_and_spend_as_it_is_settled(
    state: StateBackend, store: Store, prefix: str
) -> None:
    metrics = Metrics()
    budgets = [daily(0.5, "UTC"), daily(2.0, "UTC", name="soft", mode="soft", period="week")]
    admit = Admit(config(prefix, budgets=budgets), state, store, metrics, Clock(utc(2027, 6, 1)))
    limit = 'keel_budget_limit_usd{budget="%s",mode="%s",period="%s",scope="team"}'
    assert sample(metrics, limit % ("day", "hard", "day")) == 0.5
    assert sample(metrics, limit % ("soft", "soft", "week")) == 2.0
    assert sample(metrics, 'keel_budget_spent_usd{budget="day",subject="t"}') is None
    await run(admit, call(), tokens=10)  # $0.01
    await run(admit, call(), tokens=20)  # $0.02
    assert sample(metrics, 'keel_budget_spent_usd{budget="day",subject="t"}') == 0.03
    assert sample(metrics, 'keel_budget_spent_usd{budget="soft",subject="t"}') == 0.03


async def test_a_new_period_puts_the_spend_back_to_zero_without_a_request(
    state: StateBackend, store: Store, prefix: str
) -> None:
    metrics = Metrics()
    clock = Clock(utc(2027, 6, 1, 23, 59))
    admit = Admit(config(prefix, budgets=[daily(0.5, "UTC")]), state, store, metrics, clock)
    await run(admit, call(), tokens=10)
    spent = 'keel_budget_spent_usd{budget="day",subject="t"}'
    admit.roll_periods()  # the same day: nothing moves
    assert sample(metrics, spent) == 0.01
    clock.at(utc(2027, 6, 2, 0, 0, 1))
    admit.roll_periods()  # what a scrape of /metrics does
    assert sample(metrics, spent) == 0.0
    await run(admit, call(), tokens=5)
    assert sample(metrics, spent) == 0.005


async def test_a_call_settled_after_its_period_ended_leaves_the_new_period_at_zero(
    state: StateBackend, store: Store, prefix: str
) -> None:
    metrics = Metrics()
    clock = Clock(utc(2027, 6, 1, 23, 59))
    admit = Admit(config(prefix, budgets=[daily(0.5, "UTC")]), state, store, metrics, clock)
    await run(admit, call(), tokens=10)
    late = call()
    await admit.before(late)  # admitted yesterday, answered after midnight
    clock.at(utc(2027, 6, 2, 0, 0, 1))
    admit.roll_periods()
    late.cost_usd = 0.02
    await admit.after(late)
    assert sample(metrics, 'keel_budget_spent_usd{budget="day",subject="t"}') == 0.0

"""Stage 3, admit: rate limits and budgets, checked and taken in one atomic step before the
call, settled to the real amounts after it.

What a request takes (keel.pipeline.holds):

- each ``rpm`` limit: one request in its 60-second sliding window;
- each ``tpm`` limit: its tokens (the prompt estimated, plus the completion cap) in its
  window, corrected to the real count when the call is over;
- each ``concurrency`` limit: a slot until the call is over;
- each hard budget: the call's worst-case cost (keel.pipeline.worst_case), reserved until the
  call is over and then settled to the real cost. So a settled cost never passes its
  reservation, and concurrent requests cannot together pass the budget.

Soft budgets take nothing and refuse nothing: they count the real cost and alert.

A refusal says why in words (keel.pipeline.refusals); an admitted call's answer carries its
limits' headers (keel.pipeline.limit_headers); budgets and rate limits that fill alert
(keel.pipeline.limit_alerts); settles the state backend missed are retried
(keel.pipeline.pending_settles).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import NoReturn

from prometheus_client import Gauge

from keel.call import Call
from keel.config.finops import BudgetConfig
from keel.config.schema import KeelConfig
from keel.finops.periods import Period, period_at
from keel.monitor.alerts import Alerter
from keel.monitor.metrics import Metrics
from keel.pipeline.admission import Admission, Check
from keel.pipeline.holds import (
    NANO,
    applying,
    budget_hold,
    limit_holds,
    settles_of,
)
from keel.pipeline.limit_alerts import LimitAlerts
from keel.pipeline.limit_headers import limit_headers
from keel.pipeline.pending_settles import PendingSettles
from keel.pipeline.refusals import refusal, unchecked
from keel.pipeline.worst_case import WorstCase, cap_field, prompt_bytes
from keel.state.base import NEVER, BackendUnavailable, Hold, LimitVerdict, Settle, StateBackend
from keel.store.usage import UsageStore

__all__ = ["Admit"]

_SPEND_COLUMN = {"team": "team", "project": "project", "key": "key_id"}


class Admit:
    def __init__(
        self,
        config: KeelConfig,
        state: StateBackend,
        store: UsageStore,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        alerter: Alerter | None = None,
    ) -> None:
        self.budgets = tuple(config.budgets)
        self.limits = tuple(config.rate_limits)
        self.active = bool(self.budgets or self.limits)
        self.state = state
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.prefix = config.state.prefix
        self.lease_ms = int((config.server.deadline_s + 60) * 1000)
        self.worst_case = WorstCase(config)
        self.alerts = LimitAlerts(alerter) if alerter is not None else None
        self.pending = PendingSettles(state)
        self._periods: dict[str, Period] = {}
        # budget -> subject -> its spend gauge (kept: labels() costs more than the set)
        self._spenders: dict[str, dict[str, Gauge]] = {}
        for b in self.budgets:
            metrics.budget_limit.labels(b.name, b.scope, b.period, b.mode).set(b.limit_usd)

    async def start(self) -> None:
        await self.state.start()
        if self.active:
            self.pending.start()

    async def close(self) -> None:
        await self.pending.close()
        await self.state.close()

    # before the call

    async def before(self, call: Call) -> None:
        if not self.active or call.principal is None:
            return
        principal = call.principal
        budgets = applying(self.budgets, principal, call.model)
        limits = applying(self.limits, principal, call.model)
        if not budgets and not limits:
            return
        now = self.clock()
        hard = [b for b, _ in budgets if b.mode == "hard"]
        cap = self.worst_case.completion_cap(call, hard)
        prompt = prompt_bytes(call) if hard or any(r.tpm for r, _ in limits) else 0
        worst = self.worst_case.nano(call.model, prompt, cap) if hard else 0
        tokens = (prompt + 3) // 4 + cap  # about four bytes a token: tpm's admission count
        taken = self.budget_holds(budgets, now, worst)
        for limit, subject in limits:
            taken.extend(limit_holds(limit, subject, self.prefix, tokens, self.lease_ms))
        await self.take(call, taken, now, worst, rows=False)

    def budget_holds(
        self, budgets: list[tuple[BudgetConfig, str]], now: float, worst: int
    ) -> list[tuple[Hold, Check]]:
        """Each budget's hold of a call whose worst case is ``worst`` nano-dollars."""
        return [
            budget_hold(b, subject, self._period(b, now), self.prefix, worst, self.lease_ms)
            for b, subject in budgets
        ]

    async def take(
        self, call: Call, taken: list[tuple[Hold, Check]], now: float, worst: int, rows: bool
    ) -> None:
        """Take every hold for the call in one atomic step, or refuse it (``rows``: a
        prediction, whose refusal asks for fewer rows)."""
        holds = [hold for hold, _ in taken]
        checks = [check for _, check in taken]
        token = secrets.token_hex(8)
        try:
            verdict = await self._admit(holds, checks, token, int(now * 1000))
        except BackendUnavailable as exc:
            self._unchecked(checks, exc)
            return
        if not verdict.admitted:
            self._refuse(call, verdict, holds, checks, now, worst, rows)
        call.admission = Admission(token, holds, checks)
        call.limit_headers = limit_headers(verdict, holds, checks)
        if self.alerts is not None:
            self.alerts.saturation(verdict, holds, checks, now)

    async def _admit(
        self, holds: list[Hold], checks: list[Check], token: str, now_ms: int
    ) -> LimitVerdict:
        for _ in range(3):
            verdict = await self.state.admit(holds, token, now_ms)
            if not verdict.missing:
                return verdict
            for i in verdict.missing:
                await self._seed(holds[i], checks[i])
        raise BackendUnavailable("not ready (budget counters could not be started)")

    async def _seed(self, hold: Hold, check: Check) -> None:
        """A budget without a counter (its period just began, or the backend lost it) starts
        from what the usage records say it spent so far this period."""
        assert isinstance(check.policy, BudgetConfig) and check.period is not None
        column = _SPEND_COLUMN[check.policy.scope]
        as_of = int(self.clock() * 1000)  # records committed before now are in the sum
        try:
            spent = await self.store.spent_between(
                column, check.subject, check.period.start, check.period.end
            )
        except Exception as exc:  # the store is down: the budget cannot know its spend
            raise BackendUnavailable(
                f"not ready (the store could not say what was spent: {exc})"
            ) from exc
        await self.state.seed(hold.key, math.ceil(spent * NANO), hold.expires_ms, as_of)

    def _unchecked(self, checks: list[Check], exc: BackendUnavailable) -> None:
        self.metrics.state_errors.labels("admit").inc()
        error = unchecked(checks, self.state.url, exc)
        self.metrics.state_unchecked.labels("fail_open" if error is None else "fail_closed").inc()
        if error is not None:
            raise error

    def _refuse(
        self,
        call: Call,
        verdict: LimitVerdict,
        holds: list[Hold],
        checks: list[Check],
        now: float,
        worst: int,
        rows: bool,
    ) -> NoReturn:
        i = verdict.refused
        hold, check = holds[i], checks[i]
        self.metrics.refused.labels(check.policy.name, check.kind).inc()
        call.limit_headers = limit_headers(verdict, holds, checks)
        if self.alerts is not None:
            self.alerts.saturation(verdict, holds, checks, now, refused=i)
            # A budget used up (not one this request alone is too dear for) refuses from now on.
            if check.kind == "budget" and verdict.retry_after_ms != NEVER:
                used = verdict.levels[i]
                self.alerts.budget(hold.key, check, max(used, hold.limit) / NANO, at_least=100)
        raise refusal(verdict, hold, check, now, worst, rows, cap_field(call.endpoint))

    def _period(self, budget: BudgetConfig, now: float) -> Period:
        period = self._periods.get(budget.name)
        if period is None or now not in period:
            if period is not None:  # a new period: nobody has spent anything in it yet
                for gauge in self._spenders.get(budget.name, {}).values():
                    gauge.set(0)
            period = period_at(budget.period, budget.timezone, now)
            self._periods[budget.name] = period
        return period

    def roll_periods(self) -> None:
        """Move each budget on to the period it is in now (its spend gauge to 0 if that is a
        new one), so the gauge is not left at the old period's spend when no request comes
        after the period ends. Called when /metrics is scraped."""
        now = self.clock()
        for budget in self.budgets:
            self._period(budget, now)

    # after the call

    async def after(self, call: Call) -> None:
        admission = call.admission
        if admission is None:
            return
        call.admission = None
        tokens = call.usage.total_tokens if call.usage is not None else 0
        settles = settles_of(admission, tokens, round(call.cost_usd * NANO))
        if not settles:
            return
        recorded_ms = int(self.clock() * 1000)
        try:
            spent = await self.state.settle(settles, admission.token, recorded_ms)
        except BackendUnavailable:
            self.metrics.state_errors.labels("settle").inc()
            self.pending.add(settles, admission.token, recorded_ms)
            return
        self._spent(admission, settles, spent)
        if self.alerts is not None:
            self.alerts.settled(admission, settles, spent)

    def _spent(self, admission: Admission, settles: list[Settle], spent: list[int]) -> None:
        """Each budget's settled spend into its gauge (for the budget burn alerts), unless
        its period has ended since the call was admitted."""
        checks = [c for c in admission.checks if c.kind == "budget"]
        levels = [v for item, v in zip(settles, spent, strict=True) if item.kind == "budget"]
        for check, level in zip(checks, levels, strict=True):
            name = check.policy.name
            if level < 0 or check.period is not self._periods.get(name):
                continue
            gauges = self._spenders.setdefault(name, {})
            gauge = gauges.get(check.subject)
            if gauge is None:
                gauge = gauges[check.subject] = self.metrics.budget_spent.labels(
                    name, check.subject
                )
            gauge.set(level / NANO)

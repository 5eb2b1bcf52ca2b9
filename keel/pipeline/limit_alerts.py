"""Alerts as budgets and rate limits fill: each of a budget's ``alert_at`` thresholds once its
spend reaches it, and a rate limit's window at or past its ``alert_at`` (keel.monitor.alerts
delivers them)."""

from __future__ import annotations

from collections.abc import Sequence

from keel.config.finops import BudgetConfig, RateLimitConfig
from keel.monitor.alerts import Alerter, budget_alert, rate_limit_alert
from keel.pipeline.admission import Admission, Check
from keel.pipeline.holds import NANO
from keel.state.base import Hold, LimitVerdict, Settle

__all__ = ["LimitAlerts"]


class LimitAlerts:
    def __init__(self, alerter: Alerter) -> None:
        self.alerter = alerter
        self._alerted: dict[str, float] = {}  # budget counter -> highest threshold notified

    def budget(self, key: str, check: Check, spent_usd: float, at_least: float = 0) -> None:
        """Alert each threshold the spend has reached (once per period: the alerter dedupes
        across replicas; this only saves it the asking on every request)."""
        policy = check.policy
        assert isinstance(policy, BudgetConfig) and check.period is not None
        share = max(100 * spent_usd / policy.limit_usd, at_least)
        reached = [t for t in policy.alert_at if t <= share and t > self._alerted.get(key, -1.0)]
        if not reached:
            return
        if len(self._alerted) > 10_000:
            self._alerted.clear()
        self._alerted[key] = max(reached)
        for threshold in reached:
            alert = budget_alert(
                policy, check.subject, threshold, spent_usd, check.period.start, check.period.end
            )
            self.alerter.notify(alert)

    def settled(self, admission: Admission, settles: Sequence[Settle], spent: list[int]) -> None:
        """After a settle: each budget's thresholds its settled spend has reached."""
        budgets = [
            (hold, check)
            for hold, check in zip(admission.holds, admission.checks, strict=True)
            if check.kind == "budget"
        ]
        settled = [v for item, v in zip(settles, spent, strict=True) if item.kind == "budget"]
        for (hold, check), value in zip(budgets, settled, strict=True):
            if value >= 0:
                self.budget(hold.key, check, value / NANO)

    def saturation(
        self,
        verdict: LimitVerdict,
        holds: Sequence[Hold],
        checks: Sequence[Check],
        now: float,
        refused: int = -1,
    ) -> None:
        """A rate limit's window at or past its alert_at: one alert an hour per limit."""
        hour = now - now % 3600
        for i, (hold, check) in enumerate(zip(holds, checks, strict=True)):
            policy = check.policy
            if check.kind == "budget" or not isinstance(policy, RateLimitConfig):
                continue
            if policy.alert_at is None or not verdict.levels:
                continue
            used = hold.limit if i == refused else verdict.levels[i]
            if 100 * used < policy.alert_at * hold.limit:
                continue
            alert = rate_limit_alert(
                policy, check.subject, check.kind, used, hold.limit, hour, hour + 3600
            )
            self.alerter.notify(alert)

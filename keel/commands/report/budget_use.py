"""How much of a budget its subject has used, for ``keel report costs``.

A report period and a budget's period need not be the same (a monthly report, a daily
budget). The rule: the budget's period that holds the report period's last moment (or now,
while the report period is still running) is the one shown, and what the subject's calls
cost in it (as budgets count: shadow copies excluded) is given as a share of the limit. For
a month's report of a monthly budget in the same time zone that is just that month's spend.
"""

from __future__ import annotations

from dataclasses import dataclass

from keel.config.finops import BudgetConfig
from keel.finops.periods import Period, period_at
from keel.store.usage import UsageStore

__all__ = ["SUBJECTS", "BudgetUse", "budget_uses"]

# The report's grouping column that names each budget scope's subject, and its usage column.
SUBJECTS = {"team": ("team", "team"), "project": ("project", "project"), "key": ("key", "key_id")}


@dataclass(frozen=True, slots=True)
class BudgetUse:
    budget: str
    subject: str
    period: str  # the budget period's label, e.g. 2026-11
    spent_usd: float
    limit_usd: float

    @property
    def used_pct(self) -> float:
        return self.spent_usd / self.limit_usd * 100

    def as_dict(self) -> dict[str, object]:
        return {
            "budget": self.budget, "subject": self.subject, "period": self.period,
            "spent_usd": self.spent_usd, "limit_usd": self.limit_usd, "used_pct": self.used_pct,
        }  # fmt: skip


async def budget_uses(
    store: UsageStore,
    budgets: list[BudgetConfig],
    group: dict[str, str | None],
    report: Period,
    now: float,
) -> list[BudgetUse]:
    """Every budget whose subject the group names, with its use (see the module's rule)."""
    at = max(report.start, min(report.end, now) - 1e-3)
    uses = []
    for budget in budgets:
        by, column = SUBJECTS[budget.scope]
        subject = group.get(by)
        if subject is None or budget.match not in ("*", subject):
            continue
        period = period_at(budget.period, budget.timezone, at)
        spent = await store.spent_between(column, subject, period.start, period.end)
        uses.append(BudgetUse(budget.name, subject, period.label, spent, budget.limit_usd))
    return uses

"""Self-hosted deployments (``price.hourly_usd``): they cost by the hour, busy or idle.

Over a report period a deployment costs hours x ``hourly_usd`` (a period still running counts
up to now). That cost is spread over the groups of the report by their share of the tokens
(prompt + completion, shadow copies included) the deployment served in the period; its
effective price is the cost over those tokens, per million. A deployment that served no token
has no one to charge: its cost is reported as idle, and counted only in the total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from keel.commands.report.tally import UsageTally
from keel.config.schema import KeelConfig
from keel.finops.periods import Period

__all__ = ["SelfHostedCost", "hourly_rates", "spread"]


@dataclass(frozen=True, slots=True)
class SelfHostedCost:
    deployment: str
    hourly_usd: float
    hours: float
    tokens: int

    @property
    def cost_usd(self) -> float:
        return self.hours * self.hourly_usd

    @property
    def usd_per_mtok(self) -> float | None:
        """The effective price at the utilisation seen; None when it served nothing."""
        return self.cost_usd / self.tokens * 1e6 if self.tokens else None

    def as_dict(self) -> dict[str, object]:
        return {
            "deployment": self.deployment, "hourly_usd": self.hourly_usd, "hours": self.hours,
            "cost_usd": self.cost_usd, "tokens": self.tokens, "usd_per_mtok": self.usd_per_mtok,
        }  # fmt: skip


def hourly_rates(config: KeelConfig) -> dict[str, float]:
    """Each deployment priced by the hour, and its rate."""
    return {d.name: d.prices.hourly_usd for d in config.deployments if d.prices.hourly_usd > 0}


def spread(
    tallies: Iterable[UsageTally], rates: dict[str, float], period: Period, now: float
) -> list[SelfHostedCost]:
    """Charge each tally its share of every self-hosted deployment's hours in ``period``."""
    tallies = list(tallies)
    hours = max(0.0, min(period.end, now) - period.start) / 3600
    costs = []
    for name, rate in sorted(rates.items()):
        served = sum(t.served.get(name, 0) for t in tallies)
        cost = SelfHostedCost(name, rate, hours, served)
        for tally in tallies:
            if served and name in tally.served:
                tally.self_hosted_usd += cost.cost_usd * tally.served[name] / served
        costs.append(cost)
    return costs

"""Totals of usage rows, for the cost and ROI reports: what was asked, what failed, the
tokens, the dollars and the latencies of one group of rows.

Shadow copies (rows of kind ``shadow``) cost money and use a deployment's capacity, so their
tokens and dollars count; they were never a client's request, so they add nothing to requests,
errors, failed tries or latencies.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson

from keel.finops.periods import Period
from keel.store.usage import UsageRecord, UsageStore

__all__ = ["PAGE", "UsageTally", "nearest_rank", "usage_in"]

PAGE = 5000  # rows read from the store at a time


@dataclass(slots=True)
class UsageTally:
    requests: int = 0
    errors: int = 0  # requests answered with a status of 400 or more
    failed_tries: int = 0  # upstream tries that failed, retried or not
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    metered_usd: float = 0.0  # the rows' own cost (per-token and per-request prices)
    self_hosted_usd: float = 0.0  # this group's share of self-hosted deployments' hours
    shadow_usd: float = 0.0  # of metered_usd, what shadow copies cost
    successes: int = 0  # requests answered with status 200
    latencies: list[float] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)  # self-hosted deployment -> tokens

    def add(self, row: UsageRecord, self_hosted: frozenset[str]) -> None:
        tokens = row.prompt_tokens + row.completion_tokens
        self.prompt_tokens += row.prompt_tokens
        self.cached_tokens += row.cached_tokens
        self.completion_tokens += row.completion_tokens
        self.metered_usd += row.cost_usd
        if row.deployment in self_hosted and tokens:
            self.served[row.deployment] = self.served.get(row.deployment, 0) + tokens
        if row.kind != "call":
            self.shadow_usd += row.cost_usd
            return
        self.requests += 1
        self.errors += row.status >= 400
        self.successes += row.status == 200
        self.failed_tries += _failed_tries(row.attempts)
        self.latencies.append(row.latency_ms)

    def merge(self, other: UsageTally) -> None:
        """Add ``other``'s totals to these (the report's total row)."""
        for name in ("requests", "errors", "failed_tries", "prompt_tokens", "cached_tokens",
                     "completion_tokens", "successes"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.metered_usd += other.metered_usd
        self.self_hosted_usd += other.self_hosted_usd
        self.shadow_usd += other.shadow_usd
        self.latencies.extend(other.latencies)
        for name, tokens in other.served.items():
            self.served[name] = self.served.get(name, 0) + tokens

    @property
    def cost_usd(self) -> float:
        return self.metered_usd + self.self_hosted_usd

    @property
    def avg_latency_ms(self) -> float | None:
        return sum(self.latencies) / len(self.latencies) if self.latencies else None

    @property
    def p95_latency_ms(self) -> float | None:
        return nearest_rank(self.latencies, 95)


def nearest_rank(values: list[float], percent: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``percent``% of the
    values at or below it (of 20 values, p95 is the 19th smallest). None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


async def usage_in(store: UsageStore, period: Period) -> AsyncIterator[UsageRecord]:
    """Every usage row of ``period``, read a page at a time."""
    after = 0
    while True:
        page = await store.usage_rows(period.start, period.end, after, PAGE)
        for row in page:
            yield row
        if len(page) < PAGE:
            return
        after = page[-1].seq


def _failed_tries(attempts: str) -> int:
    try:
        tries = orjson.loads(attempts)
    except orjson.JSONDecodeError:
        return 0
    if not isinstance(tries, list):
        return 0
    return sum(1 for t in tries if isinstance(t, dict) and t.get("error"))

"""``keel report roi``: what each use case (a project tag) was worth against what it cost,
per calendar month of the period.

Value = successes (status 200) x ``value_per_success_usd`` + for each request's latest
feedback (POST /v1/feedback) ``value_per_outcome_usd[outcome]`` + ``minutes_saved[outcome]``
/ 60 x ``hourly_rate_usd``. A feedback counts in the month it was given, under the project
of the key that gave it, and only while no later feedback of the same team on the same request
exists: one team's word never displaces another's (the gateway takes feedback only on the
caller's team's own calls; older stores may hold feedback from before it checked).
Cost = the calls' and shadow copies' own cost + the project's share of self-hosted hours in
that month (``self_hosted``; what idle deployments cost is nobody's use case).
A project with no use case configured is listed with value 0, so its spend stays visible;
calls without a project tag are left out.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from keel.commands.report.period import months_in, parse_period
from keel.commands.report.self_hosted import hourly_rates, spread
from keel.commands.report.tally import UsageTally, usage_in
from keel.config.finops import UseCaseConfig
from keel.config.schema import KeelConfig
from keel.finops.periods import Period
from keel.store import opened_store
from keel.store.base import Store
from keel.store.feedback import FeedbackRecord
from keel.store.usage import UsageStore
from keel.table import render_table

__all__ = ["FORMATS", "RoiRow", "render", "roi", "roi_rows"]

FORMATS = ("table", "csv", "json")


@dataclass(slots=True)
class RoiRow:
    use_case: str
    month: str
    configured: bool  # False: a project with no use_cases entry (value 0)
    requests: int = 0
    successes: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # latest feedbacks, per outcome
    value_usd: float = 0.0
    cost_usd: float = 0.0

    @property
    def ratio(self) -> float | None:
        """Value per dollar spent; None when nothing was spent."""
        return self.value_usd / self.cost_usd if self.cost_usd else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "use_case": self.use_case, "month": self.month, "configured": self.configured,
            "requests": self.requests, "successes": self.successes, "outcomes": self.outcomes,
            "value_usd": self.value_usd, "cost_usd": self.cost_usd, "ratio": self.ratio,
        }  # fmt: skip


async def roi(
    config: KeelConfig, period: str, fmt: str, timezone: str = "UTC", now: float | None = None
) -> str:
    """The report as text; ValueError (a message for the user) for bad input."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    span = parse_period(period, timezone)
    async with opened_store(config.store.url) as store:
        rows = await roi_rows(store, config, span, timezone, now)
    return render(rows, span.label, timezone, fmt)


async def roi_rows(
    store: Store, config: KeelConfig, period: Period, timezone: str, now: float | None = None
) -> list[RoiRow]:
    now = time.time() if now is None else now
    latest = _latest_feedback(await store.feedback_since(period.start))
    rows: list[RoiRow] = []
    for month in months_in(period, timezone):
        tallies = await _tallies(store, config, month, now)
        given = [f for f in latest if f.ts in month and f.project is not None]
        projects = {p for p in tallies if p is not None} | {f.project for f in given if f.project}
        for project in sorted(projects):
            use_case = config.use_cases.get(project)
            row = RoiRow(project, month.label, use_case is not None)
            _add_calls(row, tallies.get(project), use_case)
            _add_feedback(row, [f for f in given if f.project == project], use_case)
            rows.append(row)
    return rows


async def _tallies(
    store: UsageStore, config: KeelConfig, month: Period, now: float
) -> dict[str | None, UsageTally]:
    """Per project (None: untagged calls, which still use self-hosted capacity)."""
    rates = hourly_rates(config)
    tallies: dict[str | None, UsageTally] = {}
    async for usage in usage_in(store, month):
        tallies.setdefault(usage.project, UsageTally()).add(usage, frozenset(rates))
    spread(tallies.values(), rates, month, now)
    return tallies


def _latest_feedback(records: list[FeedbackRecord]) -> list[FeedbackRecord]:
    """Each team's latest feedback on each request (records come in the order recorded)."""
    latest = {(r.team, r.request_id): r for r in records}
    return list(latest.values())


def _add_calls(row: RoiRow, tally: UsageTally | None, use_case: UseCaseConfig | None) -> None:
    if tally is None:
        return
    row.requests, row.successes, row.cost_usd = tally.requests, tally.successes, tally.cost_usd
    if use_case is not None:
        row.value_usd += tally.successes * use_case.value_per_success_usd


def _add_feedback(row: RoiRow, given: list[FeedbackRecord], use_case: UseCaseConfig | None) -> None:
    for f in given:
        row.outcomes[f.outcome] = row.outcomes.get(f.outcome, 0) + 1
        if use_case is not None:
            minutes = use_case.minutes_saved.get(f.outcome, 0.0)
            value = use_case.value_per_outcome_usd.get(f.outcome, 0.0)
            row.value_usd += value + minutes / 60 * use_case.hourly_rate_usd


def render(rows: list[RoiRow], label: str, timezone: str, fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps([r.as_dict() for r in rows], option=orjson.OPT_INDENT_2).decode()
    if fmt == "csv":
        return _csv(rows)
    if not rows:
        return f"no use case had requests or feedback in {label} ({timezone})"
    lines: list[tuple[str, ...]] = [("use case", "month", "requests", "successes", "feedback",
                                     "value $", "cost $", "value/cost")]  # fmt: skip
    for r in rows:
        name = r.use_case if r.configured else f"{r.use_case} (no use case)"
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append((name, r.month, str(r.requests), str(r.successes),
                      str(sum(r.outcomes.values())), f"{r.value_usd:.2f}", f"{r.cost_usd:.6f}",
                      ratio))  # fmt: skip
    return f"roi {label} ({timezone})\n" + render_table(lines, numeric_from=2)


def _csv(rows: list[RoiRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["use_case", "month", "configured", "requests", "successes", "feedback",
                     "value_usd", "cost_usd", "ratio"])  # fmt: skip
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.6f}"
        writer.writerow([r.use_case, r.month, str(r.configured).lower(), r.requests,
                         r.successes, sum(r.outcomes.values()), f"{r.value_usd:.6f}",
                         f"{r.cost_usd:.6f}", ratio])  # fmt: skip
    return out.getvalue().rstrip("\n")

"""``keel report costs``: what a period cost, grouped by any of team, project, key, model,
deployment and region, with self-hosted hours spread over the tokens they served.

Per group: requests, errors (status 400 or more), failed upstream tries, tokens, dollars, the
mean and the p95 latency (nearest rank), and the use of any budget whose subject the group
names (``budget_use``). Shadow copies are costed, not counted as requests (``tally``).
Self-hosted deployments: ``self_hosted``.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from typing import Any

import orjson

from keel.commands.report.budget_use import BudgetUse, budget_uses
from keel.commands.report.period import parse_period
from keel.commands.report.self_hosted import SelfHostedCost, hourly_rates, spread
from keel.commands.report.tally import UsageTally, usage_in
from keel.config.schema import KeelConfig
from keel.finops.periods import Period
from keel.store import opened_store
from keel.store.usage import UsageRecord, UsageStore
from keel.table import render_table

__all__ = ["BY", "FORMATS", "CostGroup", "CostReport", "cost_report", "costs", "parse_by", "render"]

BY = {"team": "team", "project": "project", "key": "key_id", "model": "model",
      "deployment": "deployment", "region": "region"}  # fmt: skip
FORMATS = ("table", "csv", "json")


@dataclass(slots=True)
class CostGroup:
    key: dict[str, str | None]  # grouping column -> value (None: not recorded)
    tally: UsageTally
    budgets: list[BudgetUse]

    @property
    def top_budget(self) -> BudgetUse | None:
        return max(self.budgets, key=lambda b: b.used_pct, default=None)


@dataclass(slots=True)
class CostReport:
    period: Period
    timezone: str
    by: tuple[str, ...]
    groups: list[CostGroup]
    total: UsageTally
    self_hosted: list[SelfHostedCost]

    @property
    def idle_usd(self) -> float:
        """Self-hosted cost of deployments that served nothing (in the total only)."""
        return sum(c.cost_usd for c in self.self_hosted if not c.tokens)

    @property
    def total_usd(self) -> float:
        return self.total.cost_usd + self.idle_usd


def parse_by(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    wrong = [n for n in names if n not in BY]
    if not names or wrong:
        raise ValueError(
            f"--by takes a comma list of {', '.join(BY)}; "
            f"{'nothing given' if not names else 'not ' + ', '.join(map(repr, wrong))}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"--by names a column twice: {text!r}")
    return names


async def costs(
    config: KeelConfig, period: str, by: str, fmt: str, timezone: str = "UTC",
    now: float | None = None,
) -> str:  # fmt: skip
    """The report as text; ValueError (a message for the user) for bad input."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    columns = parse_by(by)
    span = parse_period(period, timezone)
    async with opened_store(config.store.url) as store:
        report = await cost_report(store, config, span, columns, timezone, now)
    return render(report, fmt)


async def cost_report(
    store: UsageStore, config: KeelConfig, period: Period, by: tuple[str, ...], timezone: str,
    now: float | None = None,
) -> CostReport:  # fmt: skip
    now = time.time() if now is None else now
    rates = hourly_rates(config)
    hourly = frozenset(rates)
    tallies: dict[tuple[str | None, ...], UsageTally] = {}
    async for row in usage_in(store, period):
        key = _key(row, by)
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = UsageTally()
        tally.add(row, hourly)
    self_hosted = spread(tallies.values(), rates, period, now)
    total = UsageTally()
    groups = []
    for key in sorted(tallies, key=lambda k: tuple(v or "" for v in k)):
        names = dict(zip(by, key, strict=True))
        uses = await budget_uses(store, config.budgets, names, period, now)
        groups.append(CostGroup(names, tallies[key], uses))
        total.merge(tallies[key])
    return CostReport(period, timezone, by, groups, total, self_hosted)


def _key(row: UsageRecord, by: tuple[str, ...]) -> tuple[str | None, ...]:
    return tuple(getattr(row, BY[name]) for name in by)


def render(report: CostReport, fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(_json(report), option=orjson.OPT_INDENT_2).decode()
    if fmt == "csv":
        return _csv(report)
    return _table(report)


_FIELDS = ("requests", "errors", "failed_tries", "prompt_tokens", "cached_tokens",
           "completion_tokens", "cost_usd", "self_hosted_usd", "shadow_usd", "avg_latency_ms",
           "p95_latency_ms")  # fmt: skip


def _numbers(tally: UsageTally) -> dict[str, Any]:
    return {name: getattr(tally, name) for name in _FIELDS}


def _json(report: CostReport) -> dict[str, Any]:
    total = {**_numbers(report.total), "cost_usd": report.total_usd,
             "self_hosted_usd": report.total.self_hosted_usd + report.idle_usd}  # fmt: skip
    return {
        "period": {
            "label": report.period.label,
            "timezone": report.timezone,
            "start": report.period.start,
            "end": report.period.end,
        },
        "by": list(report.by),
        "groups": [
            {**g.key, **_numbers(g.tally), "budgets": [b.as_dict() for b in g.budgets]}
            for g in report.groups
        ],
        "total": total,
        "self_hosted": [c.as_dict() for c in report.self_hosted],
        "idle_self_hosted_usd": report.idle_usd,
    }


def _csv(report: CostReport) -> str:
    """Two sections, a blank line apart: the groups and total, then self-hosted deployments."""
    data = _json(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*report.by, *_FIELDS, "budget", "budget_used_pct"])
    for group, g in zip(data["groups"], report.groups, strict=True):
        top = g.top_budget
        budget = [top.budget, f"{top.used_pct:.2f}"] if top else ["", ""]
        writer.writerow([_cell(group[n]) for n in (*report.by, *_FIELDS)] + budget)
    label = ["total"] + [""] * (len(report.by) - 1)
    writer.writerow(label + [_cell(data["total"][n]) for n in _FIELDS] + ["", ""])
    if report.self_hosted:
        writer.writerow([])
        writer.writerow(["deployment", "hourly_usd", "hours", "cost_usd", "tokens",
                         "usd_per_mtok"])  # fmt: skip
        for c in report.self_hosted:
            writer.writerow([_cell(v) for v in c.as_dict().values()])
    return out.getvalue().rstrip("\n")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")  # no float noise (11.749999999999998)
    return "" if value is None else str(value)


def _table(report: CostReport) -> str:
    if not report.groups and not report.self_hosted:
        return f"no usage records in {report.period.label} ({report.timezone})"
    header = (*report.by, "requests", "errors", "failed tries", "prompt tok", "cached tok",
              "completion tok", "cost $", "avg ms", "p95 ms", "budget used")  # fmt: skip
    lines: list[tuple[str, ...]] = [header]
    for g in report.groups:
        values = tuple(v or "-" for v in g.key.values())
        top = g.top_budget
        budget = f"{top.used_pct:.1f}% {top.budget}" if top else "-"
        lines.append((*values, *_row(g.tally, g.tally.cost_usd), budget))
    label = ("total",) + ("",) * (len(report.by) - 1)
    lines.append((*label, *_row(report.total, report.total_usd), ""))
    text = [f"costs {report.period.label} ({report.timezone})",
            render_table(lines, numeric_from=len(report.by))]  # fmt: skip
    if report.total.shadow_usd:
        text.append(f"cost includes ${report.total.shadow_usd:.6f} of shadow copies")
    text.extend(_self_hosted_lines(report.self_hosted))
    return "\n".join(text)


def _row(t: UsageTally, cost: float) -> tuple[str, ...]:
    return (str(t.requests), str(t.errors), str(t.failed_tries), str(t.prompt_tokens),
            str(t.cached_tokens), str(t.completion_tokens), f"{cost:.6f}", _ms(t.avg_latency_ms),
            _ms(t.p95_latency_ms))  # fmt: skip


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _self_hosted_lines(costs: list[SelfHostedCost]) -> list[str]:
    if not costs:
        return []
    lines: list[tuple[str, ...]] = [("self-hosted", "$/hour", "hours", "cost $", "tokens",
                                     "effective $/Mtok")]  # fmt: skip
    for c in costs:
        per = "idle" if c.usd_per_mtok is None else f"{c.usd_per_mtok:.4f}"
        lines.append((c.deployment, f"{c.hourly_usd:g}", f"{c.hours:.2f}", f"{c.cost_usd:.6f}",
                      str(c.tokens), per))  # fmt: skip
    return ["", render_table(lines, numeric_from=1)]

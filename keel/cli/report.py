"""``keel report``: usage, alerts, costs and ROI from the usage records."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.options import ConfigOpt, load

if TYPE_CHECKING:
    pass

__all__ = ["report_app"]

report_app = typer.Typer(no_args_is_help=True, help="Reports from the usage records.")


@report_app.command("usage")
def report_usage(
    since: Annotated[
        str, typer.Option(help="Start: a date (2026-11-01) or a duration back (24h, 7d).")
    ] = "30d",
    by: Annotated[
        str, typer.Option(help="Group by team, model, deployment, region or kind (call, shadow).")
    ] = "team",
    format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    config: ConfigOpt = None,
) -> None:
    """Requests, tokens, cost and latency from the usage records."""
    from keel.commands.report import usage

    try:
        typer.echo(asyncio.run(usage.usage(load(config), since, by, format)))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None


@report_app.command("alerts")
def report_alerts(
    since: Annotated[
        str, typer.Option(help="Start: a date (2026-11-01) or a duration back (24h, 7d).")
    ] = "7d",
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    config: ConfigOpt = None,
) -> None:
    """Budget and rate-limit alerts as recorded: when, about what, and whether they got out."""
    from keel.commands.report import alerts

    try:
        typer.echo(asyncio.run(alerts.alerts(load(config), since, format)))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None


PeriodOpt = Annotated[
    str,
    typer.Option(
        help="2026-11 (month), 2026-11-05 (day), 2026-W45 (ISO week), 2026-11-01..2026-11-15."
    ),
]
TzOpt = Annotated[str, typer.Option("--tz", help="Time zone of the period (IANA name).")]


@report_app.command("costs")
def report_costs(
    period: PeriodOpt,
    by: Annotated[
        str, typer.Option(help="Comma list of team, project, key, model, deployment, region.")
    ] = "team",
    format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    tz: TzOpt = "UTC",
    config: ConfigOpt = None,
) -> None:
    """Cost per group over a period: requests, errors, failed tries, tokens, $, avg and p95
    latency (nearest rank), budget used, a total; self-hosted hours spread over their tokens.

    Budget used: the subject's spend (shadow copies excluded, as budgets count) in the budget's
    period holding the report period's end (or now, if it is running), over the limit."""
    from keel.commands.report import costs

    try:
        typer.echo(asyncio.run(costs.costs(load(config), period, by, format, tz)))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None


@report_app.command("roi")
def report_roi(
    period: PeriodOpt,
    format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    tz: TzOpt = "UTC",
    config: ConfigOpt = None,
) -> None:
    """Per use case (project tag) and month: requests, successes, value, cost, value/cost.

    Value: successes x value_per_success_usd, plus each request's latest feedback outcome
    (value_per_outcome_usd, minutes_saved at hourly_rate_usd), counted in the month it was
    given. Projects without a use case are listed with value 0; untagged calls are left out."""
    from keel.commands.report import roi

    try:
        typer.echo(asyncio.run(roi.roi(load(config), period, format, tz)))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None

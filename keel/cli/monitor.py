"""``keel monitor``: the reference windows of the prompt embedding drift monitor, its latest
checks, and every monitor's alert episodes."""

from __future__ import annotations

from typing import Annotated

import typer

from keel.cli.options import ConfigOpt, load, run

__all__ = ["monitor_app"]

monitor_app = typer.Typer(
    no_args_is_help=True,
    help="Prompt embedding drift (pin a reference window, see the checks); alert episodes.",
)
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]


@monitor_app.command("pin")
def monitor_pin(
    model: Annotated[str, typer.Argument(help="The logical model.")],
    since: Annotated[
        str, typer.Option(help="Window start: a date (2026-11-01) or a duration back (7d).")
    ],
    until: Annotated[
        str | None, typer.Option(help="Window end: a date or a duration back (default: now).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Pin MODEL's reference: the prompts sampled from --since to --until. The latest pin wins."""
    from keel.commands import monitor

    typer.echo(run(lambda: monitor.pin(load(config), model, since, until)))


@monitor_app.command("pins")
def monitor_pins(format: FormatOpt = "table", config: ConfigOpt = None) -> None:
    """The reference window in force for each model."""
    from keel.commands import monitor

    typer.echo(run(lambda: monitor.pins(load(config), format)))


@monitor_app.command("report")
def monitor_report(
    model: Annotated[str, typer.Argument(help="The logical model.")],
    format: FormatOpt = "table",
    config: ConfigOpt = None,
) -> None:
    """MODEL's latest check: verdict, score (-log10 p), p-value, window sizes; its arms'."""
    from keel.commands import monitor

    typer.echo(run(lambda: monitor.report(load(config), model, format)))


@monitor_app.command("episodes")
def monitor_episodes(
    since: Annotated[
        str, typer.Option(help="Episodes open at or after: a date (2026-11-01) or 7d back.")
    ] = "7d",
    open_only: Annotated[bool, typer.Option("--open", help="Only those open now.")] = False,
    format: FormatOpt = "table",
    config: ConfigOpt = None,
) -> None:
    """The monitors' alert episodes: drift, prompt drift, quality, latency and errors."""
    from keel.commands import monitor

    typer.echo(run(lambda: monitor.episodes(load(config), since, open_only, format)))

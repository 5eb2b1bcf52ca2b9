"""``keel quality``: quality per model version, from labels and feedback."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from keel.cli.options import ConfigOpt, load, run

__all__ = ["quality_app"]

quality_app = typer.Typer(no_args_is_help=True, help="Quality per model version over time.")


@quality_app.command("report")
def quality_report(
    model: Annotated[str, typer.Argument(help="A registered model, or an LLM model of models:.")],
    by: Annotated[str, typer.Option(help="Group by day or week (ISO, UTC).")] = "day",
    since: Annotated[
        str, typer.Option(help="Start: a date (2026-11-01) or a duration back (24h, 7d).")
    ] = "30d",
    json: Annotated[bool, typer.Option("--json", help="JSON instead of tables.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Accuracy, macro precision and recall, ECE and Brier per version (and kind: call or
    shadow) per period, from labels joined to the prediction log; for an LLM model, feedback
    outcomes per deployment and rollout arm."""
    from keel.commands import quality

    cfg = load(config)
    report = run(lambda: quality.quality_report(cfg, model, by, since))
    if json:
        typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(quality.render_report(report))

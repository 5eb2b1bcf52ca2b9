"""``keel drift``: tabular drift of a model's inputs. ``report`` reads a registered
version's live window from the store; ``detect`` compares two CSV files (it runs before this
module is imported, see ``keel.cli.main``; it is declared here for ``keel --help`` and for
callers of the typer app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keel.cli.options import ConfigOpt, load, run

__all__ = ["drift_app"]

drift_app = typer.Typer(no_args_is_help=True, help="Tabular drift of a model's inputs.")


@drift_app.command("detect")
def drift_detect(
    reference: Annotated[Path | None, typer.Option(help="The reference CSV (header row).")] = None,
    current: Annotated[
        Path | None, typer.Option(help="The window CSV, rows in time order.")
    ] = None,
    serve: Annotated[
        bool, typer.Option(help='Read {"reference": path, "current": path} per stdin line.')
    ] = False,
    alpha: Annotated[float, typer.Option(help="Family-wise error rate.")] = 0.05,
    detail: Annotated[bool, typer.Option(help="Add p-values, rows and per-test scores.")] = False,
) -> None:
    """Compare a window CSV with a reference CSV per column; print one JSON object."""
    from keel.commands.drift import main

    argv = [f"--alpha={alpha}"]
    argv += [f"--reference={reference}"] if reference is not None else []
    argv += [f"--current={current}"] if current is not None else []
    argv += ["--serve"] if serve else []
    argv += ["--detail"] if detail else []
    raise typer.Exit(main(argv))


@drift_app.command("report")
def drift_report(
    model: Annotated[str, typer.Argument(help="NAME@ALIAS, NAME:VERSION or NAME (its latest).")],
    window: Annotated[
        int | None, typer.Option(help="The latest this many rows (default monitors.drift).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Rows from: a date (2026-11-01) or a duration back (6h).")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    config: ConfigOpt = None,
) -> None:
    """The version's live window against its registered reference: a verdict per feature."""
    from keel.commands.drift_report import drift_report as report

    typer.echo(run(lambda: report(load(config), model, window, since, format)))

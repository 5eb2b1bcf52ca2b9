"""``keel drift``: tabular drift of a model's inputs (``detect`` runs before this module
is imported, see ``keel.cli.main``; it is declared here for ``keel --help`` and for
callers of the typer app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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

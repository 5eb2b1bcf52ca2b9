"""What the ``keel`` commands share: the options that name a config, a gateway and an admin
key, loading the config, and how a refused command ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from keel.config.loader import load_config
from keel.config.schema import KeelConfig
from keel.errors import ConfigError

__all__ = ["AdminKeyOpt", "ConfigOpt", "ReasonOpt", "ServerOpt", "T", "load", "refuse", "run"]

T = TypeVar("T")

ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", "-c", help="keel.yaml to use (default: ./keel.yaml, else the demo)."),
]
ServerOpt = Annotated[
    str | None,
    typer.Option("--server", help="Act through a running gateway's admin API (http://host:port)."),
]
AdminKeyOpt = Annotated[
    str | None, typer.Option("--admin-key", help="An admin key (default: $KEEL_ADMIN_KEY).")
]
ReasonOpt = Annotated[str, typer.Option(help="Why: recorded with the change.")]


def load(path: str | None) -> KeelConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"keel: config refused ({len(exc.problems)} problem(s))", err=True)
        raise typer.Exit(2) from None


def refuse(exc: Exception) -> NoReturn:
    """A refused command that acts through the admin API or the store: what went wrong, exit 2
    (anything unexpected still raises)."""
    from keel.commands.keys import RemoteError

    if isinstance(exc, ValueError | RemoteError):
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None
    raise exc


def run(action: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's action against the store: a refusal (unsafe or unreadable input, an
    unknown name) exits 2; a rollout that changed meanwhile exits 1 (look, then try again)."""
    from keel.commands.rollout import RolloutConflict

    try:
        return asyncio.run(action())
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None
    except RolloutConflict as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(1) from None

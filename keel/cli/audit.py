"""``keel audit``: verify and export the tamper-evident audit trail, make its key."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.options import ConfigOpt, load

if TYPE_CHECKING:
    pass

__all__ = ["audit_app"]

audit_app = typer.Typer(
    no_args_is_help=True, help="The tamper-evident audit trail: verify, export, make a key."
)


@audit_app.command("verify")
def audit_verify(
    witness: Annotated[
        Path | None,
        typer.Option(help="The witness file to compare the store with (default: audit.witness)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Check every link and signature; exit 1 naming each broken chain's first bad record."""
    from keel.commands import audit

    cfg = load(config)
    try:
        text, ok = asyncio.run(audit.verify_store(cfg, witness))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(text)
    if not ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    since: Annotated[
        str, typer.Option(help="Records linked since: a date (2026-11-01) or a duration (24h).")
    ] = "24h",
    format: Annotated[str, typer.Option("--format", help="jsonl: one JSON record a line.")] = (
        "jsonl"
    ),
    writer: Annotated[str | None, typer.Option(help="Only this writer's chain.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Print the audit records with their chain fields, one JSON line each, for a SIEM."""
    from keel.commands import audit

    cfg = load(config)
    try:
        count = asyncio.run(audit.export(cfg, since, format, writer, sys.stdout.buffer))
    except ValueError as exc:
        typer.echo(f"keel: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"keel audit: {count} record(s)", err=True)


@audit_app.command("keygen")
def audit_keygen(
    out: Annotated[
        Path | None, typer.Option(help="Write the private key to this new file (mode 0600).")
    ] = None,
) -> None:
    """Make an Ed25519 key for audit.signing_key; print its public key for audit.verify_keys."""
    from keel.commands import audit

    try:
        pem, public, key_id = audit.keygen(out)
    except FileExistsError:
        typer.echo(f"keel: {out} exists; keygen never overwrites a key", err=True)
        raise typer.Exit(2) from None
    if out is None:
        typer.echo(pem.decode(), nl=False)
    typer.echo(f"public key: {public}\nkey id:     {key_id}", err=True)

"""``keel keys``: make, list and revoke API keys, in the store or through a gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.options import AdminKeyOpt, ConfigOpt, ServerOpt, load, refuse

if TYPE_CHECKING:
    from keel.commands.keys import AdminClient, StoreKeys

__all__ = ["keys_app"]

keys_app = typer.Typer(no_args_is_help=True, help="Make, list and revoke API keys.")


@keys_app.command("create")
def keys_create(
    team: Annotated[str, typer.Option(help="The team the key belongs to.")],
    name: Annotated[str, typer.Option(help="A label, e.g. the app using it.")] = "",
    expires: Annotated[
        str | None, typer.Option(help="Expiry: a date (2026-12-31) or a duration (30d, 12h).")
    ] = None,
    models: Annotated[
        str | None, typer.Option(help="Scope: only these logical models (comma-separated).")
    ] = None,
    data_class: Annotated[
        str | None, typer.Option("--data-class", help="Scope: the class of the key's data.")
    ] = None,
    project: Annotated[
        str | None, typer.Option(help="Tag: the project (use case) its calls count under.")
    ] = None,
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Make an API key for a team. It is printed once and stored only as a hash."""
    scope = tuple(m.strip() for m in (models or "").split(",") if m.strip())
    try:
        key, record = _keys(server, admin_key, config).create(
            team, name, expires, scope, data_class, project
        )
    except Exception as exc:
        refuse(exc)
    typer.echo(key)
    tagged = f", project {record.project}" if record.project else ""
    typer.echo(f"id {record.id}, team {record.team}{tagged}. Shown once: store it now.", err=True)


@keys_app.command("list")
def keys_list(
    team: Annotated[str | None, typer.Option(help="Only this team's keys.")] = None,
    project: Annotated[str | None, typer.Option(help="Only keys tagged with this project.")] = None,
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List API keys (never the keys themselves)."""
    from keel.commands.keys import render_keys

    try:
        records = _keys(server, admin_key, config).list_keys(team, project)
    except Exception as exc:
        refuse(exc)
    typer.echo(render_keys(records))


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (keel keys list).")],
    server: ServerOpt = None,
    admin_key: AdminKeyOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke a key. Running gateways refuse it within seconds."""
    try:
        found = _keys(server, admin_key, config).revoke(key_id)
    except Exception as exc:
        refuse(exc)
    if not found:
        typer.echo(f"keel: no key with id {key_id} (see keel keys list)", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


def _keys(server: str | None, admin_key: str | None, config: str | None) -> StoreKeys | AdminClient:
    """Where key commands act: a running gateway's admin API, or the configured store."""
    if server is not None:
        from keel.commands.keys import AdminClient

        return AdminClient(server, admin_key)
    from keel.commands.keys import StoreKeys

    return StoreKeys(load(config))

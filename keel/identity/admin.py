"""Key administration against the configured store (used by ``keel keys``)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from keel.config.schema import KeelConfig
from keel.identity.keys import create_key
from keel.identity.project import check_project
from keel.store import opened_store
from keel.store.keys import KeyRecord, KeyStore
from keel.table import render_table
from keel.timeparse import parse_until

__all__ = ["StoreKeys", "create", "create_in", "list_keys", "render_keys", "revoke"]


async def create(
    config: KeelConfig,
    team: str,
    name: str,
    expires: str | None,
    models: tuple[str, ...] = (),
    data_class: str | None = None,
    project: str | None = None,
) -> tuple[str, KeyRecord]:
    async with opened_store(config.store.url) as store:
        return await create_in(store, config, team, name, expires, models, data_class, project)


async def create_in(
    store: KeyStore,
    config: KeelConfig,
    team: str,
    name: str,
    expires: str | None,
    models: tuple[str, ...] = (),
    data_class: str | None = None,
    project: str | None = None,
) -> tuple[str, KeyRecord]:
    """Make a key after checking every choice against the config (ValueError says why).

    ``project`` tags the key's calls with a use case; any valid name will do, since a
    project needs no entry in keel.yaml (budgets may match every project with "*")."""
    spec = config.teams.get(team)
    if spec is None:
        known = ", ".join(sorted(config.teams)) or "none"
        raise ValueError(f"no team {team!r} in the config (teams: {known})")
    expires_at = parse_until(expires) if expires else None
    if expires_at is not None and expires_at <= time.time():
        raise ValueError(f"expiry {expires!r} is in the past")
    for model in models:
        if model not in config.models or not spec.may_use(model):
            raise ValueError(f"team {team} may not use a model {model!r} (see its models)")
    if data_class is not None:
        _check_class(config, spec.data_class, data_class)
    if project is not None:
        check_project(project)
    return await create_key(store, team, name, expires_at, models, data_class, project)


def _check_class(config: KeelConfig, team_class: str | None, data_class: str) -> None:
    chosen = config.data_classes.get(data_class)
    if chosen is None:
        known = ", ".join(sorted(config.data_classes)) or "none"
        raise ValueError(f"no data class {data_class!r} in the config (data_classes: {known})")
    if team_class is not None and not chosen.at_least_as_strict_as(config.data_classes[team_class]):
        raise ValueError(
            f"data class {data_class!r} is looser than the team's {team_class!r}: "
            "a key may only narrow what its team may do"
        )


async def list_keys(
    config: KeelConfig, team: str | None, project: str | None = None
) -> list[KeyRecord]:
    async with opened_store(config.store.url) as store:
        return await store.list_keys(team, project)


async def revoke(config: KeelConfig, key_id: str) -> bool:
    async with opened_store(config.store.url) as store:
        return await store.revoke_key(key_id, time.time())


class StoreKeys:
    """The key commands acting on the store itself, with the methods of ``remote.AdminClient``
    (which acts through a running gateway), so the CLI treats both alike."""

    def __init__(self, config: KeelConfig) -> None:
        self.config = config

    def create(
        self,
        team: str,
        name: str,
        expires: str | None,
        models: tuple[str, ...],
        data_class: str | None,
        project: str | None = None,
    ) -> tuple[str, KeyRecord]:
        return asyncio.run(create(self.config, team, name, expires, models, data_class, project))

    def list_keys(self, team: str | None, project: str | None = None) -> list[KeyRecord]:
        return asyncio.run(list_keys(self.config, team, project))

    def revoke(self, key_id: str) -> bool:
        return asyncio.run(revoke(self.config, key_id))


def render_keys(records: list[KeyRecord]) -> str:
    if not records:
        return "no keys (make one: keel keys create --team <team>)"
    rows: list[tuple[str, ...]] = [
        ("id", "team", "project", "name", "key starts", "created", "expires", "status")
    ]
    now = time.time()
    for r in records:
        status = (
            "revoked"
            if r.revoked_at
            else "expired"
            if r.expires_at and r.expires_at <= now
            else "active"
        )
        started, ends = _day(r.created_at), _day(r.expires_at)
        rows.append((r.id, r.team, r.project or "-", r.name, r.prefix + "…", started, ends, status))
    return render_table(rows)


def _day(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") if ts else "-"

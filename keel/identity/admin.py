"""Key administration against the configured store (used by ``keel keys``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from keel.config.schema import KeelConfig
from keel.identity.keys import create_key
from keel.store import opened_store
from keel.store.base import KeyRecord
from keel.table import render_table
from keel.timeparse import parse_until

__all__ = ["create", "list_keys", "render_keys", "revoke"]


async def create(
    config: KeelConfig, team: str, name: str, expires: str | None
) -> tuple[str, KeyRecord]:
    if team not in config.teams:
        known = ", ".join(sorted(config.teams)) or "none"
        raise ValueError(f"no team {team!r} in the config (teams: {known})")
    expires_at = parse_until(expires) if expires else None
    if expires_at is not None and expires_at <= time.time():
        raise ValueError(f"expiry {expires!r} is in the past")
    async with opened_store(config.store.url) as store:
        return await create_key(store, team, name, expires_at)


async def list_keys(config: KeelConfig, team: str | None) -> list[KeyRecord]:
    async with opened_store(config.store.url) as store:
        return await store.list_keys(team)


async def revoke(config: KeelConfig, key_id: str) -> bool:
    async with opened_store(config.store.url) as store:
        return await store.revoke_key(key_id, time.time())


def render_keys(records: list[KeyRecord]) -> str:
    if not records:
        return "no keys (make one: keel keys create --team <team>)"
    rows: list[tuple[str, ...]] = [
        ("id", "team", "name", "key starts", "created", "expires", "status")
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
        rows.append(
            (r.id, r.team, r.name, r.prefix + "…", _day(r.created_at), _day(r.expires_at), status)
        )
    return render_table(rows)


def _day(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") if ts else "-"

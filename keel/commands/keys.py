"""``keel keys``: make, list and revoke API keys in the configured store (``StoreKeys``) or,
with ``--server``, through a running gateway's admin API (``AdminClient``); the key table."""

from __future__ import annotations

import asyncio
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import Any

import orjson

from keel.config.schema import KeelConfig
from keel.identity.keys import create_checked
from keel.store import opened_store
from keel.store.keys import KeyRecord
from keel.table import render_table

__all__ = [
    "AdminClient",
    "RemoteError",
    "StoreKeys",
    "create",
    "list_keys",
    "render_keys",
    "revoke",
]


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
        return await create_checked(store, config, team, name, expires, models, data_class, project)


async def list_keys(
    config: KeelConfig, team: str | None, project: str | None = None
) -> list[KeyRecord]:
    async with opened_store(config.store.url) as store:
        return await store.list_keys(team, project)


async def revoke(config: KeelConfig, key_id: str) -> bool:
    async with opened_store(config.store.url) as store:
        return await store.revoke_key(key_id, time.time())


class StoreKeys:
    """The key commands acting on the store itself, with the methods of ``AdminClient``
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


class RemoteError(Exception):
    """The server refused, or could not be reached; the message says which and why."""


class AdminClient:
    def __init__(self, server: str, admin_key: str | None) -> None:
        self.base = server.rstrip("/")
        self.key = admin_key or os.environ.get("KEEL_ADMIN_KEY")
        if not self.key:
            raise RemoteError("give --admin-key or set KEEL_ADMIN_KEY (one of auth.admin_keys)")

    def create(
        self,
        team: str,
        name: str,
        expires: str | None,
        models: tuple[str, ...],
        data_class: str | None,
        project: str | None = None,
    ) -> tuple[str, KeyRecord]:
        body = {"team": team, "name": name, "expires": expires, "models": list(models),
                "data_class": data_class, "project": project}  # fmt: skip
        answer = self._call("POST", "/admin/keys", body)
        return answer.pop("key"), _record(answer)

    def list_keys(self, team: str | None, project: str | None = None) -> list[KeyRecord]:
        query = urllib.parse.urlencode(
            {k: v for k, v in (("team", team), ("project", project)) if v}
        )
        path = "/admin/keys" + (f"?{query}" if query else "")
        return [_record(item) for item in self._call("GET", path)["data"]]

    def revoke(self, key_id: str) -> bool:
        try:
            self._call("DELETE", f"/admin/keys/{urllib.parse.quote(key_id)}")
        except RemoteError as exc:
            if "No key with id" in str(exc):
                return False
            raise
        return True

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = orjson.dumps(body) if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("authorization", f"Bearer {self.key}")
        request.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = orjson.loads(response.read())
                return answer
        except urllib.error.HTTPError as exc:
            raise RemoteError(_message(exc.read()) or f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise RemoteError(f"cannot reach {self.base}: {exc}") from None


def _message(body: bytes) -> str | None:
    try:
        error = orjson.loads(body).get("error", {})
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return str(error.get("message")) if isinstance(error, dict) else None


def _record(item: dict[str, Any]) -> KeyRecord:
    models = item.get("models")
    return KeyRecord(
        id=item["id"], team=item["team"], name=item["name"], prefix=item["prefix"],
        created_at=item["created_at"], expires_at=item.get("expires_at"),
        revoked_at=item.get("revoked_at"), models=",".join(models) if models else None,
        data_class=item.get("data_class"), project=item.get("project"),
    )  # fmt: skip

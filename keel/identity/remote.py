"""``keel keys --server URL``: the same key commands, through a running gateway's admin API."""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import orjson

from keel.store.keys import KeyRecord

__all__ = ["AdminClient", "RemoteError"]


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

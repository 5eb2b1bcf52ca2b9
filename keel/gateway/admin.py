"""The admin API: ``/admin/keys`` and ``/admin/teams``, for ``keel keys --server`` and tools
(``/admin/models``, the model registry, is keel.gateway.admin_models).

Reachable only with a credential from ``auth.admin_keys`` (compared as hashes, in constant
time); without any configured, the API is off. Every action, refused ones too, is audited with
who did it; a key is shown once, in the answer that made it, and never stored or logged.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from keel.errors import AuthenticationError, BadRequest, KeelError, NotFound, PermissionDenied
from keel.gateway.edge import bearer_token, check_headers
from keel.identity.keys import create_checked, hash_key
from keel.store.keys import KeyRecord

if TYPE_CHECKING:
    from keel.config.schema import KeelConfig
    from keel.store.base import Store
    from keel.store.ledger import Ledger

__all__ = ["AdminRoutes", "key_json", "nul_refused"]

log = logging.getLogger("keel.admin")


def key_json(record: KeyRecord) -> dict[str, Any]:
    return {
        "id": record.id, "team": record.team, "name": record.name, "prefix": record.prefix,
        "created_at": record.created_at, "expires_at": record.expires_at,
        "revoked_at": record.revoked_at, "data_class": record.data_class,
        "models": record.models.split(",") if record.models else None, "project": record.project,
    }  # fmt: skip


class AdminRoutes:
    def __init__(self, config: KeelConfig, store: Store, ledger: Ledger) -> None:
        self.config = config
        self.store = store
        self.ledger = ledger  # every admin action is audited
        self.hashes = [hash_key(k.get_secret_value()) for k in config.auth.admin_keys]

    async def keys(self, request: Request) -> Response:
        if request.method == "GET":
            return await self.run(request, "list_keys", self._list)
        return await self.run(request, "create_key", self._create)

    async def key(self, request: Request) -> Response:
        return await self.run(request, "revoke_key", self._revoke)

    async def teams(self, request: Request) -> Response:
        return await self.run(request, "list_teams", self._teams)

    async def run(self, request: Request, action: str, work: Any) -> Response:
        """Authenticate the admin, do ``work(request, detail)`` -> (body, status) and audit
        the action with ``detail`` (``detail["admin"]`` is who acted), refused ones too."""
        started = time.time()
        detail: dict[str, Any] = {}
        try:
            admin_id = self._admin(request)
            detail["admin"] = admin_id
            _refuse_nul([*request.query_params.values(), *request.path_params.values()])
            body, status = await work(request, detail)
            outcome = "done"
        except KeelError as exc:
            body, status, outcome = orjson.loads(exc.to_body()), exc.status, exc.code or "error"
        await self._audit(action, outcome, detail, started)
        return Response(orjson.dumps(body), status, media_type="application/json")

    def _admin(self, request: Request) -> str:
        if not self.hashes:
            raise PermissionDenied(
                "The admin API is off: set auth.admin_keys in keel.yaml (e.g. ${KEEL_ADMIN_KEY}).",
                code="admin_disabled",
            )
        check_headers(request.headers)
        credential = bearer_token(request.headers)
        if not credential:
            raise AuthenticationError("The admin API needs an admin key as a bearer token.")
        digest = hash_key(credential)
        for i, known in enumerate(self.hashes, 1):
            if hmac.compare_digest(digest, known):
                return f"admin:{i}"
        raise AuthenticationError("That is not an admin key (auth.admin_keys).")

    async def _list(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        team = request.query_params.get("team")
        project = request.query_params.get("project")
        detail.update(team=team, project=project)
        records = await self.store.list_keys(team, project)
        return {"object": "list", "data": [key_json(r) for r in records]}, 200

    async def _create(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        raw = await request.body()
        if b"\\u0000" in raw:  # JSON can carry a NUL only escaped
            raise nul_refused()
        try:
            asked = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest(
                "Send a JSON object: {team, name, expires, models, data_class, project}."
            ) from None
        if not isinstance(asked, dict) or not isinstance(asked.get("team"), str):
            raise BadRequest("The field 'team' is required.", param="team")
        models = asked.get("models") or []
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise BadRequest("'models' must be a list of model names.", param="models")
        project = asked.get("project")
        if project is not None and not isinstance(project, str):
            raise BadRequest("'project' must be a string, e.g. \"support-bot\".", param="project")
        _check_widths(asked)
        detail.update(team=asked["team"], name=asked.get("name"), models=models,
                      data_class=asked.get("data_class"), expires=asked.get("expires"),
                      project=project)  # fmt: skip
        try:
            key, record = await create_checked(
                self.store, self.config, asked["team"],
                str(asked.get("name") or ""), asked.get("expires"), tuple(models),
                asked.get("data_class"), project,
            )  # fmt: skip
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        detail["key_id"] = record.id
        return {"key": key, **key_json(record)}, 201

    async def _revoke(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        key_id = request.path_params["key_id"]
        detail["key_id"] = key_id
        if not await self.store.revoke_key(key_id, time.time()):
            raise NotFound(f"No key with id {key_id} (GET /admin/keys lists them).")
        return {"id": key_id, "revoked": True}, 200

    async def _teams(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        teams = self.config.teams
        data = [{"team": name, "models": spec.models, "data_class": spec.data_class}
                for name, spec in teams.items()]  # fmt: skip
        return {"object": "list", "data": data}, 200

    async def _audit(
        self, action: str, outcome: str, detail: dict[str, Any], started: float
    ) -> None:
        record = {"kind": "admin", "action": action, "outcome": outcome, "ts": started, **detail}
        log.info("admin %s: %s", action, orjson.dumps(record).decode())
        await self.ledger.audit(record)


def _refuse_nul(values: list[str]) -> None:
    """PostgreSQL cannot store or compare text holding NUL: refuse it before the store sees it."""
    if any("\x00" in v for v in values):
        raise nul_refused()


def nul_refused() -> BadRequest:
    return BadRequest(
        "The request contains a NUL character (\\u0000); remove it: key ids, names, teams, "
        "models and projects are text.",
        code="invalid_characters",
    )


# The widest each text field of a key may be: its column in keel.store.tables.api_keys (a
# longer value would fail the commit it shares with other writes on PostgreSQL).
_KEY_WIDTHS = {"team": 128, "name": 256, "project": 128, "data_class": 128}


def _check_widths(asked: dict[str, Any]) -> None:
    for field, width in _KEY_WIDTHS.items():
        value = asked.get(field)
        if isinstance(value, str) and len(value) > width:
            raise BadRequest(
                f"'{field}' is {len(value)} characters long; keel allows at most {width}.",
                param=field,
                code="value_too_long",
            )

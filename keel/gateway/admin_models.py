"""The admin API's model registry, ``/admin/models``: what ``keel models`` does, over HTTP.

List models, show one's versions, its lineage (every alias move: who, before, after, why,
when), move an alias (atomically, recorded with the admin as who), archive a version, and
register a version from a single-file artifact sent as the body (keel.gateway.uploads); an
MLflow model directory is registered with ``keel models register``. The same checks as the
CLI, through keel.registry.catalog; refusals are the admin API's errors: 400 bad input, 404
no such model, version or alias, 409 what is recorded forbids it, 413 too large an artifact.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from keel.errors import BadRequest, Conflict, ModelNotFound
from keel.gateway.admin import nul_refused
from keel.gateway.edge import read_body
from keel.gateway.uploads import received
from keel.registry import catalog
from keel.registry.formats import UnsafeArtifact, UnsupportedArtifact
from keel.store.models import AliasEvent, ModelAlias, ModelVersion

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from keel.config.schema import KeelConfig
    from keel.gateway.admin import AdminRoutes
    from keel.registry.artifacts import ArtifactStore
    from keel.store.models import ModelStore

    Work = Callable[[Request, dict[str, Any]], Awaitable[tuple[Any, int]]]

__all__ = ["AdminModelRoutes"]

_REGISTER_QUERY = frozenset({"format", "description", "tag", "metrics", "code_version"})
_CODE_VERSION_MAX = 64  # its column in keel.store.tables.model_versions


class AdminModelRoutes:
    """The ``/admin/models`` routes; authentication and audit are ``AdminRoutes.run``'s."""

    def __init__(
        self,
        config: KeelConfig,
        admin: AdminRoutes,
        store: ModelStore,
        artifacts: ArtifactStore,
        changed: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.admin = admin
        self.store = store
        self.artifacts = artifacts
        # Tells this process's serving cache at once; the other replicas follow on their refresh.
        self.changed = changed or (lambda: None)

    async def models(self, request: Request) -> Response:
        return await self._run(request, "list_models", self._list)

    async def model(self, request: Request) -> Response:
        return await self._run(request, "show_model", self._show)

    async def lineage(self, request: Request) -> Response:
        return await self._run(request, "model_lineage", self._lineage)

    async def alias(self, request: Request) -> Response:
        return await self._run(request, "move_model_alias", self._alias)

    async def archive(self, request: Request) -> Response:
        return await self._run(request, "archive_model_version", self._archive)

    async def register(self, request: Request) -> Response:
        return await self._run(request, "register_model_version", self._register)

    async def _run(self, request: Request, action: str, work: Work) -> Response:
        async def mapped(request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
            try:
                return await work(request, detail)
            except catalog.UnknownModel as exc:
                raise ModelNotFound(_sentence(exc)) from None
            except catalog.RegistryConflict as exc:
                raise Conflict(_sentence(exc)) from None
            except UnsafeArtifact as exc:
                raise BadRequest(_sentence(exc), code="unsafe_artifact") from None
            except UnsupportedArtifact as exc:
                raise BadRequest(_sentence(exc), code="unsupported_artifact") from None
            except ValueError as exc:
                raise BadRequest(_sentence(exc)) from None

        return await self.admin.run(request, action, mapped)

    async def _list(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        versions, aliases = await self.store.model_versions(), await self.store.model_aliases()
        by_name: dict[str, list[ModelVersion]] = {}
        for v in versions:
            by_name.setdefault(v.name, []).append(v)
        data = [_summary(name, group, aliases) for name, group in by_name.items()]
        return {"object": "list", "data": data}, 200

    async def _show(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        name = _name(request, detail)
        found = await catalog.lineage(self.store, name)
        versions = [_version(v, found.aliases) for v in found.versions]
        return {"name": name, "aliases": _named(found.aliases), "versions": versions}, 200

    async def _lineage(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        name = _name(request, detail)
        found = await catalog.lineage(self.store, name)
        events = [_event(e) for e in found.events]
        return {"name": name, "aliases": _named(found.aliases), "events": events}, 200

    async def _alias(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        name = _name(request, detail)
        alias_name = request.path_params["alias"]
        detail["alias"] = alias_name
        catalog.check_name("alias", alias_name)
        number, why = _alias_body(await read_body(request, self.config.server.max_body_bytes))
        detail.update(version=number, why=why)
        event = await catalog.alias(self.store, name, alias_name, number, detail["admin"], why)
        detail["before"] = event.before
        self.changed()
        return _event(event), 200

    async def _archive(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        name = _name(request, detail)
        number = _number(request.path_params["version"])
        detail["version"] = number
        archived = await catalog.archive(self.store, name, number)
        self.changed()
        return _version(archived, []), 200

    async def _register(self, request: Request, detail: dict[str, Any]) -> tuple[Any, int]:
        name = _name(request, detail)
        catalog.check_name("model name", name)
        query = request.query_params
        unknown = sorted(set(query) - _REGISTER_QUERY)
        if unknown:
            raise BadRequest(
                f"Unknown query parameter(s) {', '.join(unknown)}: give format, description, "
                "tag (k=v, repeatable), metrics (a JSON object) and code_version."
            )
        tags = dict(_tag(t) for t in query.getlist("tag"))
        metrics = _metrics(query.get("metrics"))
        code_version = query.get("code_version") or None
        if code_version is not None and len(code_version) > _CODE_VERSION_MAX:
            raise BadRequest(f"code_version is at most {_CODE_VERSION_MAX} characters (a commit).")
        limit = self.config.predictive.max_artifact_bytes
        async with received(request, self.artifacts.root, limit, query.get("format")) as upload:
            sha256 = await asyncio.to_thread(self.artifacts.put, upload.path)
            detail.update(sha256=sha256, format=upload.detected.format, bytes=upload.size)
            stored = await catalog.register(
                self.store,
                name,
                sha256,
                upload.detected,
                creator=detail["admin"],
                metrics=metrics,
                tags=tags,
                description=query.get("description", ""),
                code_version=code_version,
            )
        detail["version"] = stored.version
        return _version(stored, []), 201


def _name(request: Request, detail: dict[str, Any]) -> str:
    name: str = request.path_params["name"]
    detail["model"] = name
    catalog.check_name("model name", name)
    return name


def _number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= catalog.MAX_VERSION:
        raise BadRequest(
            f"The version {text[:32]!r} is not a version number (1, 2, ...; GET "
            "/admin/models/{name} lists them)."
        )
    return int(text)


def _alias_body(raw: bytes) -> tuple[int, str]:
    if b"\\u0000" in raw:  # JSON can carry a NUL only escaped
        raise nul_refused()
    try:
        asked = orjson.loads(raw)
    except orjson.JSONDecodeError:
        asked = None
    if not isinstance(asked, dict) or set(asked) - {"version", "why"}:
        raise BadRequest('Send a JSON object: {"version": 2, "why": "better auc"}.')
    number, why = asked.get("version"), asked.get("why", "")
    if isinstance(number, bool) or not isinstance(number, int):
        raise BadRequest("'version' is required: the version the alias names.", param="version")
    if not 1 <= number <= catalog.MAX_VERSION:
        raise BadRequest(f"'version' {number} is not a version (1, 2, ...).", param="version")
    if not isinstance(why, str):
        raise BadRequest("'why' must be a string: why the alias moves.", param="why")
    return number, why


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise BadRequest(f"tag {text[:64]!r}: give k=v, e.g. tag=team=risk.", param="tag")
    return key, value


def _metrics(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        metrics = orjson.loads(text)
    except orjson.JSONDecodeError:
        metrics = None
    if not isinstance(metrics, dict):
        raise BadRequest('metrics: give a JSON object, e.g. {"auc": 0.97}.', param="metrics")
    return metrics


def _named(aliases: list[ModelAlias]) -> dict[str, int]:
    return {a.alias: a.version for a in aliases}


def _summary(name: str, group: list[ModelVersion], aliases: list[ModelAlias]) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [v.version for v in group],
        "archived": [v.version for v in group if v.archived_at is not None],
        "latest": group[-1].version,
        "aliases": _named([a for a in aliases if a.name == name]),
    }


def _version(record: ModelVersion, aliases: list[ModelAlias]) -> dict[str, Any]:
    naming = [a.alias for a in aliases if a.version == record.version]
    return record.as_dict() | {"aliases": naming}


def _event(event: AliasEvent) -> dict[str, Any]:
    return dataclasses.asdict(event)


def _sentence(exc: Exception) -> str:
    """The registry's words as an answer, ending with a full stop (a name may start it, so
    its case is kept)."""
    text = str(exc)
    return text if text.endswith((".", ")")) else text + "."

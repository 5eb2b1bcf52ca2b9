"""The admin API's operations in keel's OpenAPI document: keys, teams and the model
registry (keel.gateway.admin, keel.gateway.admin_models)."""

from __future__ import annotations

from keel.gateway import schemas as s
from keel.gateway.operation import Operation

__all__ = ["ADMIN_OPERATIONS"]

_ADMIN = (401, 403, 431, 503)
_TEAM_QUERY = (
    {"name": "team", "in": "query", "required": False, "schema": {"type": "string"}},
    {"name": "project", "in": "query", "required": False, "schema": {"type": "string"}},
)
_KEY_ID = ({"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}},)
_NAME_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}
_MODEL_NAME = (
    {"name": "name", "in": "path", "required": True, "schema": _NAME_SCHEMA, "example": "m"},
)
_ALIAS = ({"name": "alias", "in": "path", "required": True, "schema": _NAME_SCHEMA},)
_MODEL_VERSION = (
    {
        "name": "version",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    },
)
_REGISTER_QUERY = tuple(
    {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
    for name, text, schema in (
        (
            "format",
            "The artifact's format (default: read from its first bytes).",
            {"type": "string", "enum": ["onnx", "skops"]},
        ),
        ("description", "What this version is.", {"type": "string"}),
        (
            "tag",
            "A tag, k=v (repeatable).",
            {"type": "array", "items": {"type": "string", "pattern": "^[^=]+=.*$"}},
        ),
        ("metrics", 'A JSON object of metrics, e.g. {"auc": 0.97}.', {"type": "string"}),
        ("code_version", "The commit it was trained from.", {"type": "string", "maxLength": 64}),
    )
)
_ARTIFACT = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
_REGISTRY = (
    Operation(
        "GET",
        "/admin/models",
        "Every registered model: versions, aliases.",
        "admin",
        "adminKey",
        answer=s.ModelSummaryList,
        errors=_ADMIN,
    ),
    Operation(
        "GET",
        "/admin/models/{name}",
        "A model's versions: signature, metrics, training fingerprint, aliases.",
        "admin",
        "adminKey",
        answer=s.ModelDetail,
        errors=(400, 404, *_ADMIN),
        params=_MODEL_NAME,
    ),
    Operation(
        "GET",
        "/admin/models/{name}/lineage",
        "Every move of the model's aliases.",
        "admin",
        "adminKey",
        answer=s.ModelLineage,
        errors=(400, 404, *_ADMIN),
        params=_MODEL_NAME,
    ),
    Operation(
        "POST",
        "/admin/models/{name}/versions",
        "Register a single-file artifact "
        "(ONNX or skops) as the model's next version; an MLflow directory is registered "
        "with keel models register.",
        "admin",
        "adminKey",
        answer=s.ModelVersionRecord,
        status=201,
        errors=(400, 413, *_ADMIN),
        params=_MODEL_NAME + _REGISTER_QUERY,
        raw_body=_ARTIFACT,
    ),
    Operation(
        "POST",
        "/admin/models/{name}/versions/{version}/archive",
        "Archive a version no alias names.",
        "admin",
        "adminKey",
        answer=s.ModelVersionRecord,
        errors=(400, 404, 409, *_ADMIN),
        params=_MODEL_NAME + _MODEL_VERSION,
    ),
    Operation(
        "POST",
        "/admin/models/{name}/aliases/{alias}",
        "Point the alias at a live version, recorded with the admin as who.",
        "admin",
        "adminKey",
        s.AliasMove,
        s.AliasEvent,
        errors=(400, 404, 409, 413, *_ADMIN),
        params=_MODEL_NAME + _ALIAS,
    ),
)

ADMIN_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/admin/keys",
        "List API keys (never the keys themselves).",
        "admin",
        "adminKey",
        answer=s.KeyList,
        errors=_ADMIN,
        params=_TEAM_QUERY,
    ),
    Operation(
        "POST",
        "/admin/keys",
        "Make an API key; the answer shows it, once.",
        "admin",
        "adminKey",
        s.NewKey,
        s.CreatedKey,
        status=201,
        errors=(400, *_ADMIN),
    ),
    Operation(
        "DELETE",
        "/admin/keys/{key_id}",
        "Revoke an API key.",
        "admin",
        "adminKey",
        answer=s.Revoked,
        errors=(404, *_ADMIN),
        params=_KEY_ID,
    ),
    Operation(
        "GET",
        "/admin/teams",
        "The teams in keel.yaml.",
        "admin",
        "adminKey",
        answer=s.TeamList,
        errors=_ADMIN,
    ),
    *_REGISTRY,
)

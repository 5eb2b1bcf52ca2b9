"""keel's OpenAPI 3.1 document, served at ``GET /openapi.json``: the data plane and the admin API.

``OPERATIONS`` is the one list of what each route takes, answers and needs; a test checks
that it names exactly the routes the app registers, so a route cannot go undocumented.
``document`` builds the JSON once, at start; the route serves those bytes.

The document is public, like ``/healthz``: it says what keel accepts, never who may call it
or what is configured (the model names, teams and keys stay behind authentication).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic.json_schema import models_json_schema

from keel.config.schema import KeelConfig
from keel.gateway import schemas as s
from keel.gateway.openapi_admin import ADMIN_OPERATIONS
from keel.gateway.operation import Operation

__all__ = ["OPERATIONS", "Operation", "document", "document_bytes"]

_REF = "#/components/schemas/{model}"
_JSON = "application/json"


_DATA = (400, 401, 403, 404, 413, 429, 431, 502, 503, 504)
_MODEL = ({"name": "model", "in": "path", "required": True, "schema": {"type": "string"}},)
_TRAFFIC = (
    {
        "name": "x-request-id",
        "in": "header",
        "required": False,
        "description": "The caller's id for the request, at most 128 characters (a longer "
        "one is a 431); kept if printable and not taken by another call, else keel makes one.",
        "schema": {"type": "string"},
    },
    {
        "name": "x-keel-timeout",
        "in": "header",
        "required": False,
        "description": "A shorter deadline than server.deadline_s, in seconds (a positive "
        "number). Past it the answer is a 504.",
        "schema": {"type": "number", "exclusiveMinimum": 0},
    },
    {
        "name": "x-keel-data-class",
        "in": "header",
        "required": False,
        "description": "A data class (data_classes in keel.yaml) at least as strict as the "
        "key's, for this request.",
        "schema": {"type": "string"},
    },
)

_RESPONSE = ({"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"}},)
_PAGE = (
    {"name": "after", "in": "query", "required": False, "schema": {"type": "string"}},
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    {"name": "order", "in": "query", "required": False, "schema": {"enum": ["asc", "desc"]}},
)
_STORED_ERRORS = (400, 401, 403, 404, 431, 503)

_VERSION = ({"name": "version", "in": "path", "required": True, "schema": {"type": "string"}},)
_OIP_ERRORS = (400, 401, 403, 404, 413, 429, 431, 503)
_OIP_META_ERRORS = (400, 401, 403, 404, 431, 503)


def _oip(path: str, params: tuple[dict[str, Any], ...]) -> tuple[Operation, ...]:
    """A model's metadata, readiness and inference, at ``path`` (a model, or one version)."""
    return (
        Operation("GET", path, "A registered model's metadata (OIP v2).", "predictive models",
                  "teamKey", answer=s.OipModel, errors=_OIP_META_ERRORS, params=params,
                  error_schema="OipError"),
        Operation("GET", f"{path}/ready", "Whether the model is loaded (this loads it).",
                  "predictive models", "teamKey", answer=s.OipState,
                  errors=_OIP_META_ERRORS, params=params, error_schema="OipError"),
        Operation("POST", f"{path}/infer", "A prediction (OIP v2, Triton's binary extension "
                  "too).", "predictive models", "teamKey", s.OipInferRequest,
                  s.OipInferResponse, errors=_OIP_ERRORS, keel_headers=True,
                  params=params + _TRAFFIC, error_schema="OipError"),
    )  # fmt: skip


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/v2", "The OIP v2 server's metadata.", "predictive models", None, answer=s.OipServer
    ),
    Operation(
        "GET", "/v2/health/live", "OIP v2 liveness.", "predictive models", None, answer=s.OipState
    ),
    Operation(
        "GET", "/v2/health/ready", "OIP v2 readiness.", "predictive models", None, answer=s.OipState
    ),
    *_oip("/v2/models/{model}", _MODEL),
    *_oip("/v2/models/{model}/versions/{version}", _MODEL + _VERSION),
    Operation(
        "POST",
        "/v2/models/{model}/feedback",
        "True labels of the model's answers, joined to its prediction log for quality per version.",
        "predictive models",
        "teamKey",
        s.LabelRequest,
        s.LabelsRecorded,
        errors=(400, 401, 403, 404, 413, 431, 503),
        params=_MODEL,
        error_schema="OipError",
    ),
    Operation(
        "POST",
        "/v1/chat/completions",
        "A chat completion (OpenAI's).",
        "data plane",
        "teamKey",
        s.ChatRequest,
        s.ChatCompletion,
        errors=_DATA,
        keel_headers=True,
        params=_TRAFFIC,
        stream=True,
    ),
    Operation(
        "POST",
        "/v1/completions",
        "A text completion (OpenAI's legacy).",
        "data plane",
        "teamKey",
        s.CompletionRequest,
        s.Completion,
        errors=_DATA,
        keel_headers=True,
        params=_TRAFFIC,
        stream=True,
    ),
    Operation(
        "POST",
        "/v1/embeddings",
        "Embeddings (OpenAI's).",
        "data plane",
        "teamKey",
        s.EmbeddingRequest,
        s.EmbeddingList,
        errors=_DATA,
        keel_headers=True,
        params=_TRAFFIC,
    ),
    Operation(
        "POST",
        "/v1/messages",
        "A message (Anthropic's Messages API): native or translated, see docs/protocols.md.",
        "data plane",
        "teamKey",
        s.MessagesRequest,
        s.MessagesAnswer,
        errors=_DATA,
        keel_headers=True,
        params=_TRAFFIC,
        stream=True,
        error_schema="AnthropicError",
    ),
    Operation(
        "POST",
        "/v1/messages/count_tokens",
        "An estimate of a Messages request's input tokens.",
        "data plane",
        "teamKey",
        s.CountTokensRequest,
        s.TokenCount,
        errors=(400, 401, 403, 404, 413, 431),
        error_schema="AnthropicError",
    ),
    Operation(
        "POST",
        "/v1/responses",
        "A response (OpenAI's Responses API), translated to chat; see docs/protocols.md.",
        "data plane",
        "teamKey",
        s.ResponsesRequest,
        s.ResponseObject,
        errors=_DATA,
        keel_headers=True,
        params=_TRAFFIC,
        stream=True,
    ),
    Operation(
        "GET",
        "/v1/responses/{response_id}",
        "A stored response of the caller's team.",
        "data plane",
        "teamKey",
        answer=s.ResponseObject,
        errors=_STORED_ERRORS,
        params=_RESPONSE,
    ),
    Operation(
        "DELETE",
        "/v1/responses/{response_id}",
        "Delete a stored response of the caller's team.",
        "data plane",
        "teamKey",
        answer=s.ResponseDeleted,
        errors=_STORED_ERRORS,
        params=_RESPONSE,
    ),
    Operation(
        "GET",
        "/v1/responses/{response_id}/input_items",
        "A page of a stored response's input items.",
        "data plane",
        "teamKey",
        answer=s.ResponseItems,
        errors=_STORED_ERRORS,
        params=_RESPONSE + _PAGE,
    ),
    Operation(
        "GET",
        "/v1/models",
        "The models the caller's key may use.",
        "data plane",
        "teamKey",
        answer=s.ModelList,
        errors=(401, 403, 431, 503),
    ),
    Operation(
        "GET",
        "/v1/models/{model}",
        "One model, if the caller's key may use it.",
        "data plane",
        "teamKey",
        answer=s.ModelCard,
        errors=(401, 403, 404, 431, 503),
        params=_MODEL,
    ),
    Operation(
        "POST",
        "/v1/feedback",
        "How an answer turned out, for keel report roi.",
        "data plane",
        "teamKey",
        s.FeedbackRequest,
        s.FeedbackRecorded,
        errors=(400, 401, 403, 404, 413, 431, 503),
    ),
    Operation(
        "GET", "/healthz", "Liveness: the process answers.", "operations", None, answer=s.Health
    ),
    Operation(
        "GET",
        "/readyz",
        "Readiness: the store answers; each deployment's state.",
        "operations",
        None,
        answer=s.Health,
        errors=(503,),
    ),
    Operation(
        "GET",
        "/metrics",
        "Prometheus metrics.",
        "operations",
        None,
        raw={"text/plain": {"type": "string"}},
    ),
    Operation(
        "GET",
        "/openapi.json",
        "This document.",
        "operations",
        None,
        raw={_JSON: {"type": "object"}},
    ),
    *ADMIN_OPERATIONS,
)

_SECURITY = {
    "teamKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A team's API key (keel keys create, or teams.*.api_keys). keel also "
        "reads it from an api-key or x-api-key header.",
    },
    "adminKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An admin key from auth.admin_keys; without any, the admin API is off.",
    },
}

_HEADERS = {
    "x-request-id": "The request's id as recorded: the caller's x-request-id if printable and "
    "not taken by another call, else keel's. Its usage record and POST /v1/feedback use it.",
    "x-keel-deployment": "The deployment that answered.",
    "x-keel-region": "That deployment's region.",
    "x-keel-cost-usd": "What the request cost (not on streams: see the usage record).",
    "x-keel-overhead-ms": "Time keel itself spent on the request, in milliseconds.",
}

_STATUS = {
    200: "OK",
    201: "Created",
    400: "The request is malformed or breaks a limit.",
    401: "No key, or an unknown, expired or revoked one.",
    403: "The key may not do this (model, data class, residency).",
    404: "No such model, key, route, or request of the caller's team.",
    409: "What is recorded forbids the change; the message says what to change first.",
    413: "The body is larger than server.max_body_bytes (an artifact: "
    "predictive.max_artifact_bytes).",
    429: "A rate limit or budget; retry-after says when.",
    431: "A header keel reads is longer than its limit (the message names both).",
    502: "The upstream failed.",
    503: "keel or its store or state is unavailable; retry.",
    504: "The upstream timed out.",
}


# One server-sent event of a stream (stream: true): OpenAI's chunks as JSON, then "[DONE]";
# an error after the first chunk comes in-band as {"error": ...}.
_EVENT = {
    "type": "object",
    "properties": {
        "data": {"type": "string", "description": "A chunk as JSON, or [DONE] at the end."},
        "event": {"type": "string"},
        "id": {"type": "string"},
    },
    "required": ["data"],
}


def document(config: KeelConfig) -> dict[str, Any]:
    """The whole document. ``config`` fills in the limits keel enforces."""
    _, defs = models_json_schema([(m, "validation") for m in s.SCHEMAS], ref_template=_REF)
    components: dict[str, Any] = {
        "schemas": _with_limits(defs["$defs"], config),
        "securitySchemes": _SECURITY,
        "headers": {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in _HEADERS.items()
        },
    }
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "keel",
            "version": "1",
            "description": "keel, an OpenAI-compatible AI gateway: the data plane (/v1) and "
            "the admin API (/admin) and predictive models on the Open Inference Protocol v2 "
            '(/v2). Every error is {"error": {message, type, code, param}}; on /v2, '
            '{"error": "message"}, as the protocol has it.',
        },
        "paths": paths,
        "components": components,
    }


def document_bytes(config: KeelConfig) -> bytes:
    return orjson.dumps(document(config))


def _with_limits(defs: dict[str, Any], config: KeelConfig) -> dict[str, Any]:
    """Write the configured request limits into the request schemas."""
    limits = config.limits
    chat = defs["ChatRequest"]["properties"]
    chat["messages"]["maxItems"] = limits.max_messages
    for name in ("max_tokens", "max_completion_tokens"):
        for option in chat[name]["anyOf"]:
            if option.get("type") == "integer":
                option["maximum"] = limits.max_tokens
    return defs


def _operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": f"{op.method.lower()}{op.path.replace('/', '_').replace('.', '_')}",
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{op.security: []}] if op.security else [],
        "responses": {str(op.status): _answer(op)},
    }
    if op.params:
        out["parameters"] = list(op.params)
    if op.body is not None:
        schema = {"$ref": _REF.format(model=op.body.__name__)}
        out["requestBody"] = {"required": True, "content": {_JSON: {"schema": schema}}}
    if op.raw_body is not None:
        out["requestBody"] = {"required": True, "content": op.raw_body}
    for status in op.errors:
        out["responses"][str(status)] = _error(status, op.keel_headers, op.error_schema)
    return out


def _answer(op: Operation) -> dict[str, Any]:
    content: dict[str, Any]
    if op.raw is not None:
        content = {media: {"schema": schema} for media, schema in op.raw.items()}
    else:
        assert op.answer is not None
        content = {_JSON: {"schema": {"$ref": _REF.format(model=op.answer.__name__)}}}
    if op.stream:
        content["text/event-stream"] = {"schema": _EVENT}
    out: dict[str, Any] = {"description": _STATUS.get(op.status, "OK"), "content": content}
    if op.keel_headers:
        out["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in _HEADERS}
    return out


def _error(status: int, keel_headers: bool, schema: str = "Error") -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": _STATUS[status],
        "content": {_JSON: {"schema": {"$ref": _REF.format(model=schema)}}},
    }
    if keel_headers:
        out["headers"] = {"x-request-id": {"$ref": "#/components/headers/x-request-id"}}
    if status in (429, 503):
        out.setdefault("headers", {})["retry-after"] = {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "string"},
        }
    return out

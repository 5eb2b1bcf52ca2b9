"""GET /openapi.json: public, valid OpenAPI 3.1, and in step with the routes the app serves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
from starlette.routing import Route
from starlette.testclient import TestClient

from keel.config.schema import KeelConfig
from keel.gateway.app import create_app
from keel.gateway.openapi import document

KEY = "sk-team-openapi-0123456789abcdef"


def config(tmp_path: Path) -> KeelConfig:
    return KeelConfig.model_validate(
        {
            "server": {"access_log": False},
            "store": {"url": f"sqlite:///{tmp_path / 'keel.db'}"},
            "regions": {"local": {}},
            "deployments": [{"name": "s", "provider": "sim", "model": "sim", "region": "local"}],
            "models": {"m": ["s"]},
            "teams": {"t": {"api_keys": [KEY]}},
            "limits": {"max_messages": 7, "max_tokens": 900},
        }
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(config(tmp_path))) as http:
        yield http


def served_routes(client: TestClient) -> set[tuple[str, str]]:
    """(method, path) of every route the app registers, in OpenAPI's path syntax."""
    app = client.app.app  # type: ignore[attr-defined]  # HotPath wraps the Starlette app
    found = set()
    for route in app.routes:
        assert isinstance(route, Route)
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {model:path} -> {model}
        found |= {(m, path) for m in route.methods or () if m != "HEAD"}
    return found


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}


def test_the_document_names_exactly_the_served_routes(client: TestClient) -> None:
    response = client.get("/openapi.json")  # no key: the document is public
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert documented(response.json()) == served_routes(client)


def test_the_document_is_valid_openapi_31(tmp_path: Path) -> None:
    doc = document(config(tmp_path))
    errors = [e.message for e in OPENAPI_31_VALIDATOR.iter_errors(doc)]
    assert errors == []
    for name, schema in doc["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name
    loaded = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) == len(documented(doc))


def test_the_document_carries_the_configured_limits(client: TestClient) -> None:
    chat = client.get("/openapi.json").json()["components"]["schemas"]["ChatRequest"]
    assert chat["properties"]["messages"]["maxItems"] == 7
    tokens = chat["properties"]["max_tokens"]["anyOf"]
    assert {"type": "integer", "minimum": 1, "maximum": 900} in tokens


def test_every_error_answer_has_the_openai_error_shape(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    error = doc["components"]["schemas"]["Error"]
    assert error["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    detail = doc["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"message", "type", "code", "param"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    # The Open Inference Protocol has its own: {"error": "message"}; the
                    # Messages routes Anthropic's: {"type": "error", "error": {type, message}}.
                    shape = "OipError" if path.startswith("/v2") else "Error"
                    if path.startswith("/v1/messages"):
                        shape = "AnthropicError"
                    assert schema == {"$ref": f"#/components/schemas/{shape}"}, (method, path)
    refused = client.post(
        "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
    )
    assert refused.status_code == 401
    assert set(refused.json()["error"]) == {"message", "type", "code", "param"}


def test_data_plane_and_admin_need_their_own_keys(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for op in ops.values():
            wanted = "adminKey" if path.startswith("/admin") else "teamKey"
            public = path in {"/healthz", "/readyz", "/metrics", "/openapi.json", "/v2",
                              "/v2/health/live", "/v2/health/ready"}  # fmt: skip
            assert op["security"] == ([] if public else [{wanted: []}]), path

"""Upstream error statuses sorted into the kinds the failure policy acts on."""

from __future__ import annotations

import orjson
import pytest

from keel.errors import UpstreamStatus, status_kind


def error(**fields: str) -> bytes:
    return orjson.dumps({"error": {"message": "", "type": "invalid_request_error", **fields}})


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (429, b"", "rate_limited"),
        (500, b"", "server_error"),
        (503, b"<html>", "server_error"),
        (408, b"", "server_error"),
        (401, error(message="Incorrect API key"), "refused"),
        (404, error(message="model not found"), "refused"),
        (400, error(code="context_length_exceeded"), "context_length"),
        (
            400,
            error(message="This model's maximum context length is 8192 tokens"),
            "context_length",
        ),
        (400, b"prompt has too many tokens", "context_length"),
        (400, error(code="content_policy_violation"), "content_policy"),
        (400, error(code="content_filter", message="filtered"), "content_policy"),
        (400, error(message="'temperature' must be at most 2"), "bad_request"),
        (422, b"not json", "bad_request"),
    ],
)
def test_status_kind(status: int, body: bytes, kind: str) -> None:
    assert status_kind(status, body) == kind


def test_a_request_error_passes_through_and_a_refusal_does_not() -> None:
    body = error(code="context_length_exceeded")
    passed = UpstreamStatus("x", upstream_status=400, body=body)
    assert passed.status == 400 and passed.to_body() == body
    refused = UpstreamStatus("deployment d answered HTTP 401", upstream_status=401, body=error())
    assert refused.status == 502 and b"api_key" in refused.to_body()

"""keel's errors in Anthropic's shape, for the Messages routes:
``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}``.

The HTTP status is keel's own; the error type is Anthropic's for that status."""

from __future__ import annotations

from typing import Any

import orjson

from keel.errors import KeelError, Overloaded, UpstreamStatus

__all__ = ["anthropic_error", "error_type"]

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
}


def error_type(error: KeelError) -> str:
    """Anthropic's error type for ``error``."""
    if isinstance(error, Overloaded):
        return "overloaded_error"
    found = _TYPES.get(error.status)
    if found is not None:
        return found
    return "invalid_request_error" if 400 <= error.status < 500 else "api_error"


def anthropic_error(error: KeelError, request_id: str) -> bytes:
    """The body of ``error``: an upstream's own Anthropic error as it sent it (a native
    upstream's 4xx about the request), else keel's message."""
    if isinstance(error, UpstreamStatus) and error.passthrough:
        upstream = _upstream_error(error.body)
        if upstream is not None:
            return upstream
    inner = {"type": error_type(error), "message": _message(error)}
    body = {"type": "error", "error": inner, "request_id": request_id}
    return orjson.dumps(body)


def _message(error: KeelError) -> str:
    """keel's message; for an upstream's 4xx passed through, the upstream's own words too."""
    if isinstance(error, UpstreamStatus) and error.passthrough:
        try:
            said: Any = orjson.loads(error.body)
        except orjson.JSONDecodeError:
            return error.message
        inner = said.get("error") if isinstance(said, dict) else None
        words = inner.get("message") if isinstance(inner, dict) else None
        if isinstance(words, str) and words:
            return f"{error.message}: {words}"
    return error.message


def _upstream_error(body: bytes) -> bytes | None:
    """``body`` if it is already an Anthropic error, else None."""
    try:
        said: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if (
        isinstance(said, dict)
        and said.get("type") == "error"
        and isinstance(said.get("error"), dict)
    ):
        return body
    return None

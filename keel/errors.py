"""The errors keel returns, each knowing its HTTP status and OpenAI error type.

Route handlers never map errors by hand: they catch ``KeelError`` and call ``to_body()``.
Every message says what to do next.

    KeelError                        (500 api_error)
    ├── BadRequest                   (400 invalid_request_error)
    │   ├── InvalidJSON              (400 invalid_json)
    │   ├── UnsupportedOperation     (400 unsupported_operation)
    │   └── BodyTooLarge             (413 request_too_large)
    ├── AuthenticationError          (401 authentication_error)
    ├── PermissionDenied             (403 permission_error)
    ├── ModelNotFound                (404 model_not_found)
    ├── Overloaded                   (503 overloaded, retry-after)
    ├── StoreUnavailable             (503 store_unavailable: no record, so no answer)
    └── UpstreamError                (502 upstream_error)
        ├── UpstreamUnavailable      (502 upstream_unavailable)
        ├── UpstreamTimeout          (504 upstream_timeout)
        ├── UpstreamStatus           (the upstream's own status and body, passed through)
        └── StreamBroken             (in-band only: the stream was cut after it started)

    ConfigError                      (not an HTTP error: a config file refused at start)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "BodyTooLarge",
    "ConfigError",
    "ConfigProblem",
    "InvalidJSON",
    "KeelError",
    "ModelNotFound",
    "Overloaded",
    "PermissionDenied",
    "StoreUnavailable",
    "StreamBroken",
    "UnsupportedOperation",
    "UpstreamError",
    "UpstreamStatus",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class KeelError(Exception):
    """Base of every error a client can receive from keel."""

    status = 500
    type = "api_error"
    code: str | None = "internal_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def headers(self) -> dict[str, str]:
        return {}

    def to_body(self) -> bytes:
        error = {"message": self.message, "type": self.type, "code": self.code, "param": self.param}
        return orjson.dumps({"error": error})


class BadRequest(KeelError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class InvalidJSON(BadRequest):
    code = "invalid_json"


class UnsupportedOperation(BadRequest):
    code = "unsupported_operation"


class BodyTooLarge(BadRequest):
    status = 413
    code = "request_too_large"


class AuthenticationError(KeelError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(KeelError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class ModelNotFound(KeelError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class Overloaded(KeelError):
    status = 503
    type = "api_error"
    code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: int = 1, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"retry-after": str(self.retry_after_s)}


class StoreUnavailable(KeelError):
    """The usage record could not be committed; keel withholds answers it cannot account for."""

    status = 503
    type = "api_error"
    code = "store_unavailable"

    def headers(self) -> dict[str, str]:
        return {"retry-after": "1"}


class UpstreamError(KeelError):
    """An upstream deployment failed. ``retryable`` says whether another candidate may help."""

    status = 502
    type = "api_error"
    code = "upstream_error"
    retryable = True


class UpstreamUnavailable(UpstreamError):
    code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class UpstreamStatus(UpstreamError):
    """The upstream answered with an error status; its body is passed through when it is 4xx."""

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int,
        body: bytes,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status
        self.body = body
        self.retry_after_s = retry_after_s  # the upstream's Retry-After, when it sent one
        # A 4xx is about the request itself (bad field, context too long): another deployment
        # of the same model would refuse it too, and the client should see the upstream's words.
        self.retryable = upstream_status >= 500 or upstream_status in (408, 429)
        self.status = upstream_status if not self.retryable else 502

    def to_body(self) -> bytes:
        if not self.retryable and _is_openai_error(self.body):
            return self.body
        return super().to_body()


class StreamBroken(UpstreamError):
    code = "stream_broken"


def _is_openai_error(body: bytes) -> bool:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("error"), dict)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in a config file, located for the person who has to fix it."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ConfigError(Exception):
    """A config file that keel refuses, with every problem found in it."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def as_dicts(self) -> list[dict[str, Any]]:
        return [
            {"file": p.file, "line": p.line, "field": p.field, "message": p.message}
            for p in self.problems
        ]

"""The errors keel returns, each knowing its HTTP status and OpenAI error type.

Route handlers never map errors by hand: they catch ``KeelError`` and call ``to_body()``.
Every message says what to do next.

    KeelError                        (500 api_error)
    ├── BadRequest                   (400 invalid_request_error)
    │   ├── InvalidJSON              (400 invalid_json)
    │   ├── UnsupportedOperation     (400 unsupported_operation)
    │   ├── PromptInjection          (400 prompt_injection: screened and blocked by policy)
    │   ├── BodyTooLarge             (413 request_too_large)
    │   └── HeaderTooLarge           (431 header_too_large: a header keel reads, over its cap)
    ├── AuthenticationError          (401 authentication_error)
    ├── PermissionDenied             (403 permission_error)
    │   └── ResidencyViolation       (403 residency_violation)
    ├── NotFound                     (404 not_found)
    │   ├── ModelNotFound            (404 model_not_found)
    │   └── RequestNotFound          (404 request_not_found: no call of the caller's team)
    ├── Conflict                     (409 conflict: the current state forbids the change)
    ├── RateLimited                  (429 rate_limit_exceeded, retry-after to the second)
    │   └── BudgetExceeded           (429 budget_exceeded, retry-after: the period's reset)
    ├── Overloaded                   (503 overloaded, retry-after)
    ├── StateUnavailable             (503 state_unavailable: a fail_closed policy unchecked)
    ├── StoreUnavailable             (503 store_unavailable: no record, so no answer)
    └── UpstreamError                (502 upstream_error)
        ├── UpstreamUnavailable      (502 upstream_unavailable)
        ├── UpstreamTimeout          (504 upstream_timeout)
        ├── UpstreamStatus           (a 4xx about the request: the upstream's own status
        │                             and body, passed through; else 502)
        └── StreamBroken             (cut before the first token: failed over; after it:
            │                         resumed on a fallback, or an in-band error event)
            └── StreamDiverged       (in-band: a fallback's re-run differs from what was sent)

    ConfigError                      (not an HTTP error: a config file refused at start)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "CLIENT_KINDS",
    "AuthenticationError",
    "BadRequest",
    "BodyTooLarge",
    "BudgetExceeded",
    "ConfigError",
    "ConfigProblem",
    "Conflict",
    "HeaderTooLarge",
    "InvalidJSON",
    "KeelError",
    "ModelNotFound",
    "NotFound",
    "Overloaded",
    "PermissionDenied",
    "PromptInjection",
    "RateLimited",
    "RequestNotFound",
    "ResidencyViolation",
    "StateUnavailable",
    "StoreUnavailable",
    "StreamBroken",
    "StreamDiverged",
    "UnsupportedOperation",
    "UpstreamError",
    "UpstreamStatus",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "status_kind",
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


class PromptInjection(BadRequest):
    """The data class blocks requests whose injection screening reaches its threshold."""

    code = "prompt_injection"


class BodyTooLarge(BadRequest):
    status = 413
    code = "request_too_large"


class HeaderTooLarge(BadRequest):
    """RFC 6585's 431: one header is longer than keel reads of it. SDKs do not retry a 431."""

    status = 431
    code = "header_too_large"


class AuthenticationError(KeelError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(KeelError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class ResidencyViolation(PermissionDenied):
    """No deployment of the model runs in a region the request's data class allows."""

    code = "residency_violation"


class NotFound(KeelError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class RequestNotFound(NotFound):
    """Feedback on an id no call of the caller's team has: the same whether another team has
    it or nobody does, so the answer reveals nothing of other teams' requests."""

    code = "request_not_found"


class Conflict(KeelError):
    """The change is well formed but what is recorded forbids it (an alias on an archived
    model version, say); the message says what to change first."""

    status = 409
    type = "invalid_request_error"
    code = "conflict"


class Overloaded(KeelError):
    status = 503
    type = "api_error"
    code = "overloaded"

    def __init__(self, message: str, *, retry_after_s: int = 1, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"retry-after": str(self.retry_after_s)}


class RateLimited(KeelError):
    """A rate limit has no room: retry after ``retry_after_ms`` (sent in seconds, rounded
    up, and in milliseconds as ``retry-after-ms``, which the OpenAI SDKs read)."""

    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(
        self, message: str, *, retry_after_ms: int, retry: bool = True, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after_ms = retry_after_ms
        self.retry = retry

    def headers(self) -> dict[str, str]:
        seconds = max(1, -(-self.retry_after_ms // 1000))
        headers = {"retry-after": str(seconds), "retry-after-ms": str(max(1, self.retry_after_ms))}
        if not self.retry:
            headers["x-should-retry"] = "false"  # SDKs would otherwise retry at once
        return headers


class BudgetExceeded(RateLimited):
    """A hard budget cannot cover the request's worst-case cost until its period resets."""

    type = "insufficient_quota"
    code = "budget_exceeded"

    def __init__(self, message: str, *, retry_after_ms: int) -> None:
        super().__init__(message, retry_after_ms=retry_after_ms, retry=False)


class StateUnavailable(KeelError):
    """The state backend (budgets, rate limits) is unreachable and a policy that applies to
    the request is set to fail_closed."""

    status = 503
    type = "api_error"
    code = "state_unavailable"

    def headers(self) -> dict[str, str]:
        return {"retry-after": "1"}


class StoreUnavailable(KeelError):
    """The usage record could not be committed; keel withholds answers it cannot account for."""

    status = 503
    type = "api_error"
    code = "store_unavailable"

    def headers(self) -> dict[str, str]:
        return {"retry-after": "1"}


class UpstreamError(KeelError):
    """An upstream deployment failed. ``kind`` names the failure for the model's ``on_error``
    policy: rate_limited, server_error, connection, timeout, refused, context_length,
    content_policy or bad_request."""

    status = 502
    type = "api_error"
    code = "upstream_error"
    kind = "server_error"


class UpstreamUnavailable(UpstreamError):
    code = "upstream_unavailable"
    kind = "connection"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"
    kind = "timeout"


#: The kinds about the request rather than the deployment: the upstream's words go back as sent.
CLIENT_KINDS = frozenset({"context_length", "content_policy", "bad_request"})


class UpstreamStatus(UpstreamError):
    """The upstream answered with an error status. A 4xx about the request itself (bad field,
    context too long, content policy) is passed through with the upstream's status and body;
    anything else is a 502 in keel's words."""

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
        self.kind = status_kind(upstream_status, body)
        self.passthrough = self.kind in CLIENT_KINDS
        self.status = upstream_status if self.passthrough else 502
        if self.kind == "refused":
            self.message = (
                f"{message}: the upstream refused keel's own request. Check the deployment's "
                "api_key, base_url and model in keel.yaml."
            )

    def to_body(self) -> bytes:
        if self.passthrough and _error_of(self.body) is not None:
            return self.body
        return super().to_body()


class StreamBroken(UpstreamError):
    code = "stream_broken"
    kind = "connection"


class StreamDiverged(StreamBroken):
    """A fallback's re-run of a broken stream does not start with what the client already has,
    so it cannot continue it. The fallback did nothing wrong."""

    code = "stream_diverged"


def status_kind(status: int, body: bytes) -> str:
    """The kind of failure an upstream's error status and body describe."""
    if status == 429:
        return "rate_limited"
    if status >= 500 or status == 408:
        return "server_error"
    if status in (401, 403, 404):
        return "refused"
    error = _error_of(body)
    if error is not None:
        words = " ".join(str(error.get(k) or "") for k in ("code", "type", "message")).lower()
    else:  # not OpenAI's shape: read what it says
        words = body[:2048].decode("utf-8", "replace").lower()
    if (
        "context_length" in words
        or "context length" in words
        or "too many tokens" in words
        or "prompt is too long" in words  # Anthropic's words
    ):
        return "context_length"
    if "content_policy" in words or "content_filter" in words or "content policy" in words:
        return "content_policy"
    return "bad_request"


def _error_of(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else None


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

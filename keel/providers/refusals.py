"""A cloud's error, told again in OpenAI's shape so that keel's router classifies it like any
other upstream's (``keel.errors.status_kind``) and a client gets OpenAI's error body.

Clouds name their failures in words of their own ("ThrottlingException", "RESOURCE_EXHAUSTED",
"Input is too long"); each adapter picks the status, this module the words the router reads.
"""

from __future__ import annotations

import orjson

from keel.errors import UpstreamStatus

__all__ = ["CONTENT_POLICY", "CONTEXT_LENGTH", "Untranslatable", "refusal", "request_fault"]

CONTEXT_LENGTH = "context_length_exceeded"  # read by status_kind as context_length
CONTENT_POLICY = "content_filter"  # read by status_kind as content_policy

_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
# How clouds say a prompt is too long, or was blocked, in a 400's message.
_TOO_LONG = (
    "too long",
    "exceeds the maximum number of tokens",
    "input token count",
    "maximum context",
    "too many input tokens",
    "context window",
)
_BLOCKED = ("safety", "blocked", "guardrail", "content filter", "content_filter", "harmful")


def refusal(
    name: str,
    status: int,
    message: str,
    code: str,
    *,
    retry_after_s: float | None = None,
    param: str | None = None,
) -> UpstreamStatus:
    """An upstream error of ``status`` whose OpenAI-shaped body carries ``code``."""
    kind = _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    error = {"message": message, "type": kind, "code": code, "param": param}
    return UpstreamStatus(
        f"deployment {name} answered HTTP {status} ({code}): {message}",
        upstream_status=status,
        body=orjson.dumps({"error": error}),
        retry_after_s=retry_after_s,
    )


def request_fault(message: str) -> str:
    """The code of a 400 by its message: context length, content policy, or a bad field."""
    words = message.lower()
    if any(w in words for w in _TOO_LONG):
        return CONTEXT_LENGTH
    if any(w in words for w in _BLOCKED):
        return CONTENT_POLICY
    return "invalid_request"


class Untranslatable(ValueError):
    """A request field a cloud's API has no counterpart for; ``field`` names it. Refused with
    a 400 rather than dropped, so a client never gets an answer to another question."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field

"""Stage 1, edge: request id, size limit, one JSON parse, the fields keel itself reads."""

from __future__ import annotations

import os
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request

from keel.call import PROMPT_FIELD, Call, Endpoint
from keel.config.security import LimitsConfig
from keel.errors import BadRequest, BodyTooLarge, HeaderTooLarge, InvalidJSON

__all__ = [
    "HEADER_LIMITS",
    "bearer_token",
    "check_headers",
    "deadline_s",
    "parse_body",
    "read_body",
    "request_id",
    "take_headers",
]

_LIMITS = LimitsConfig()
# The widest a model name may be: the records' model column (keel.store.tables.usage) holds
# 256, and a longer value there would fail the group commit it shares with other requests.
MODEL_MAX = 256

_CREDENTIAL = 16_384  # a JWT with many claims; as much as common proxies pass in one header
#: Every request header keel reads, and the most bytes of it keel reads. uvicorn (httptools)
#: sets no limit of its own: without these, a 2.7 MB "token" would be parsed and hashed.
HEADER_LIMITS: dict[bytes, int] = {
    b"authorization": _CREDENTIAL,
    b"api-key": _CREDENTIAL,
    b"x-api-key": _CREDENTIAL,
    b"x-request-id": 128,
    b"x-keel-timeout": 32,
    b"x-keel-data-class": 256,
    b"content-length": 20,  # the digits of the largest 64-bit number
}
# A traceparent is 55 characters (version 00); later versions may append fields.
_TRACEPARENT_MAX = 256
_CREDENTIALS = frozenset({b"authorization", b"api-key", b"x-api-key"})
_CREDENTIAL_HINT = (
    "Send only the credential: a keel API key is about 50 bytes, an identity provider's token "
    "a few KB."
)


def check_headers(headers: Headers) -> None:
    """Refuse (431) a request with a header keel reads that is over its limit, before any of
    them is read. One pass over the raw headers: every copy of a repeated header counts."""
    for name, value in headers.raw:
        most = HEADER_LIMITS.get(name)
        if most is not None and len(value) > most:
            shown = name.decode("latin-1")
            hint = _CREDENTIAL_HINT if name in _CREDENTIALS else f"Send a shorter {shown}."
            raise HeaderTooLarge(
                f"The {shown} header is {len(value)} bytes long; keel reads at most {most} bytes "
                f"of it. {hint}",
                param=shown,
            )


def request_id(headers: Any) -> str:
    given: str | None = headers.get("x-request-id")
    if given and len(given) <= 128 and given.isprintable():
        return given
    return os.urandom(12).hex()


def take_headers(call: Call, headers: Any, configured_deadline_s: float) -> None:
    """What every protocol's edge reads of a call's headers: their limits, the credential,
    the data class asked for and the deadline."""
    check_headers(headers)
    call.credential = bearer_token(headers)
    call.asked_class = headers.get("x-keel-data-class")
    call.deadline = call.started + deadline_s(headers, configured_deadline_s)
    parent: str | None = headers.get("traceparent")
    if parent is not None and len(parent) <= _TRACEPARENT_MAX:
        call.traceparent = parent
        state: str | None = headers.get("tracestate")
        # W3C: a vendor may drop a tracestate longer than 512 characters.
        call.tracestate = state if state is not None and len(state) <= 512 else None


def deadline_s(headers: Any, configured: float) -> float:
    """The request's deadline: the configured one, or shorter if ``x-keel-timeout`` asks."""
    asked: str | None = headers.get("x-keel-timeout")
    if asked is None:
        return configured
    try:
        seconds = float(asked)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise BadRequest(
            f"x-keel-timeout must be a positive number of seconds, not {asked[:32]!r}.",
            param="x-keel-timeout",
        )
    return min(seconds, configured)


def bearer_token(headers: Any) -> str | None:
    value: str | None = headers.get("authorization")
    if value:
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    api_key: str | None = headers.get("api-key") or headers.get("x-api-key")
    return api_key


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise BadRequest("The client closed the connection before sending the whole body.") from exc
    return b"".join(chunks)


def json_object(raw: bytes, shape: str) -> dict[str, Any]:
    """A small control body (feedback, labels): a JSON object, else a 400 showing ``shape``."""
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidJSON(f"The body is not JSON. Send {shape}.") from None
    if not isinstance(body, dict):
        raise BadRequest(f"The body must be a JSON object: {shape}.")
    return body


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"The request body is larger than {limit} bytes. Send less (fewer or shorter messages), "
        "or raise server.max_body_bytes in keel.yaml."
    )


def parse_body(call: Call, raw: bytes, limits: LimitsConfig = _LIMITS) -> None:
    """Parse once; check only the fields keel reads. Everything else passes through untouched."""
    body = _loads(raw)
    _check_depth(raw, body, limits.max_depth)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("The field 'model' is required and must be a string.", param="model")
    if len(model) > MODEL_MAX:
        raise BadRequest(
            f"The field 'model' is {len(model)} characters long; model names are at most "
            f"{MODEL_MAX}. Send a model name from GET /v1/models.",
            param="model",
            code="model_too_long",
        )
    call.body = body
    call.model = model
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise BadRequest("The field 'stream' must be true or false.", param="stream")
    call.stream = bool(stream)
    _check_prompt(call.endpoint, body, limits)
    _check_max_tokens(body, limits.max_tokens)
    _check_n(body, limits.max_n)
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise BadRequest(
                "The field 'stream_options' must be an object.", param="stream_options"
            )
        call.client_wants_usage = options.get("include_usage") is True


def _loads(raw: bytes) -> Any:
    if not raw:
        raise InvalidJSON("The request body is empty; send a JSON object.")
    if b"\\u0000" in raw:
        raise BadRequest(
            "The request contains a NUL character (\\u0000); remove it: upstreams and logs "
            "treat it as the end of the text.",
            code="invalid_characters",
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc):
            raise BadRequest(
                "The request body is nested too deeply to read. Flatten it.", code="too_deep"
            ) from None
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as utf:
            raise InvalidJSON(
                f"The request body is not valid UTF-8 (bad byte at offset {utf.start}). "
                "Send JSON encoded as UTF-8.",
                code="invalid_encoding",
            ) from None
        raise InvalidJSON(f"The request body is not valid JSON: {exc}.") from None


def _check_prompt(endpoint: Endpoint, body: dict[str, Any], limits: LimitsConfig) -> None:
    name = PROMPT_FIELD[endpoint]
    value = body.get(name)
    if value is None:
        raise BadRequest(f"The field '{name}' is required.", param=name)
    if endpoint in ("chat", "messages"):
        if not isinstance(value, list) or not value:
            raise BadRequest("'messages' must be a non-empty list of messages.", param=name)
        if len(value) > limits.max_messages:
            raise BadRequest(
                f"The request has {len(value)} messages; keel accepts at most "
                f"{limits.max_messages} (limits.max_messages). Send fewer or summarise older ones.",
                param=name,
                code="too_many_messages",
            )
        if not all(isinstance(m, dict) for m in value):
            raise BadRequest(
                "Each message must be an object with 'role' and 'content'.", param=name
            )
    elif not isinstance(value, str | list):
        raise BadRequest(f"'{name}' must be a string or a list.", param=name)


def _check_max_tokens(body: dict[str, Any], highest: int) -> None:
    for name in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        asked = body.get(name)
        if asked is None:
            continue
        if isinstance(asked, bool) or not isinstance(asked, int) or asked < 1:
            raise BadRequest(f"'{name}' must be a positive whole number.", param=name)
        if asked > highest:
            raise BadRequest(
                f"'{name}' is {asked}; keel allows at most {highest} (limits.max_tokens).",
                param=name,
                code="max_tokens_too_large",
            )


def _check_n(body: dict[str, Any], highest: int) -> None:
    asked = body.get("n")
    if asked is None:
        return
    if isinstance(asked, bool) or not isinstance(asked, int) or asked < 1:
        raise BadRequest("'n' must be a positive whole number.", param="n")
    if asked > highest:
        raise BadRequest(
            f"'n' is {asked}; keel allows at most {highest} choices per request (limits.max_n). "
            "Ask for fewer, or send several requests.",
            param="n",
            code="n_too_large",
        )


def _check_depth(raw: bytes, body: Any, limit: int) -> None:
    """Refuse bodies nested deeper than ``limit``. Counting brackets is cheap and bounds the
    depth from above, so the walk (over containers, not bytes) runs only when it could be."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise BadRequest(
                f"The request body is nested more than {limit} levels deep (limits.max_depth). "
                "Flatten it.",
                code="too_deep",
            )
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))

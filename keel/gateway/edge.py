"""Stage 1, edge: request id, size limit, one JSON parse, the fields keel itself reads."""

from __future__ import annotations

import os
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from keel.call import Call, Endpoint
from keel.errors import BadRequest, BodyTooLarge, InvalidJSON

__all__ = ["bearer_token", "deadline_s", "parse_body", "read_body", "request_id"]

_PROMPT_FIELD: dict[Endpoint, str] = {
    "chat": "messages",
    "completions": "prompt",
    "embeddings": "input",
}


def request_id(headers: Any) -> str:
    given: str | None = headers.get("x-request-id")
    if given and len(given) <= 128 and given.isprintable():
        return given
    return os.urandom(12).hex()


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


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"The request body is larger than {limit} bytes. Send less (fewer or shorter messages), "
        "or raise server.max_body_bytes in keel.yaml."
    )


def parse_body(call: Call, raw: bytes) -> None:
    """Parse once; check only the fields keel reads. Everything else passes through untouched."""
    body = _loads(raw)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("The field 'model' is required and must be a string.", param="model")
    call.body = body
    call.model = model
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise BadRequest("The field 'stream' must be true or false.", param="stream")
    call.stream = bool(stream)
    _check_prompt(call.endpoint, body)
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
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as utf:
            raise InvalidJSON(
                f"The request body is not valid UTF-8 (bad byte at offset {utf.start}). "
                "Send JSON encoded as UTF-8.",
                code="invalid_encoding",
            ) from None
        raise InvalidJSON(f"The request body is not valid JSON: {exc}.") from None


def _check_prompt(endpoint: Endpoint, body: dict[str, Any]) -> None:
    name = _PROMPT_FIELD[endpoint]
    value = body.get(name)
    if value is None:
        raise BadRequest(f"The field '{name}' is required.", param=name)
    if endpoint == "chat":
        if not isinstance(value, list) or not value:
            raise BadRequest("'messages' must be a non-empty list of messages.", param=name)
        if not all(isinstance(m, dict) for m in value):
            raise BadRequest(
                "Each message must be an object with 'role' and 'content'.", param=name
            )
    elif not isinstance(value, str | list):
        raise BadRequest(f"'{name}' must be a string or a list.", param=name)

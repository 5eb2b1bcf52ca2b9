"""Anthropic's Messages API: ``POST /v1/messages`` and ``/v1/messages/count_tokens``.

An HTTP request becomes a ``Call`` of the ``messages`` endpoint whose protocol is Anthropic's
(``keel.protocols.anthropic``), so every stage reads its bodies as Messages bodies; the router
sends it natively to deployments that serve Messages and translated to the rest
(``keel.translate``). The answer comes back in Messages form either way: a JSON body, or
server-sent events with ``event:`` lines. Errors are in Anthropic's shape. The credential is
``x-api-key`` or ``authorization: Bearer``; ``anthropic-version`` is accepted and not read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from keel.answer import Answer, Event
from keel.call import Call
from keel.config.schema import KeelConfig
from keel.errors import BadRequest, KeelError, ModelNotFound
from keel.gateway.anthropic_errors import anthropic_error
from keel.gateway.edge import (
    bearer_token,
    check_headers,
    parse_body,
    read_body,
    take_headers,
)
from keel.gateway.edge import request_id as new_request_id
from keel.gateway.openai import keel_headers
from keel.gateway.streaming import EventStream
from keel.pipeline import Before, Pipeline
from keel.pipeline.meter import estimate_tokens
from keel.protocols.anthropic import MESSAGES

__all__ = ["MessagesRoutes"]

log = logging.getLogger("keel.gateway")

_JSON = "application/json"
_COUNTED = ("system", "messages", "tools")


class MessagesRoutes:
    """The Messages routes over the same pipeline as every other call."""

    def __init__(
        self,
        config: KeelConfig,
        pipeline: Pipeline,
        identify: Before,
        visible_models: Callable[[Call], list[str]],
    ) -> None:
        self.pipeline = pipeline
        self.identify = identify
        self.visible_models = visible_models
        self.max_body = config.server.max_body_bytes
        self.deadline_s = config.server.deadline_s
        self.limits = config.limits

    async def messages(self, request: Request) -> Response:
        call = _call(request)
        refused: KeelError | None = None
        try:
            take_headers(call, request.headers, self.deadline_s)
            raw = await read_body(request, self.max_body)
            parse_body(call, raw, self.limits)
            check_messages(call.body)
            call.raw = raw
        except KeelError as exc:  # recorded like any refusal
            refused = exc
        except Exception as exc:
            log.exception("request %s failed inside keel", call.id)
            refused = KeelError(f"Internal error in keel ({type(exc).__name__}); it is logged.")
        return respond(call, await self.pipeline.run(call, refused))

    async def count_tokens(self, request: Request) -> Response:
        """An estimate (about four characters a token), not the model's tokenizer: the
        ``x-keel-estimated`` header says so."""
        call = _call(request)
        try:
            check_headers(request.headers)
            call.credential = bearer_token(request.headers)
            body = await read_body(request, self.max_body)
            await self.identify.before(call)
            parse_body(call, body, self.limits)
            if call.model not in self.visible_models(call):
                raise ModelNotFound(
                    f"The model {call.model!r} does not exist or your key may not use it. "
                    "GET /v1/models lists the models your key may use.",
                    param="model",
                )
        except KeelError as exc:
            return error_response(call, exc)
        counted = {k: call.body[k] for k in _COUNTED if k in call.body}
        tokens = estimate_tokens(orjson.dumps(counted).decode())
        headers = {"request-id": call.id, "x-request-id": call.id, "x-keel-estimated": "true"}
        return Response(orjson.dumps({"input_tokens": tokens}), 200, headers, _JSON)


def _call(request: Request) -> Call:
    call_id = new_request_id(request.headers)
    return Call(id=call_id, endpoint="messages", body={}, model="", stream=False, protocol=MESSAGES)


def check_messages(body: dict[str, Any]) -> None:
    """What Anthropic's API requires beyond what every protocol's edge checks."""
    if body.get("max_tokens") is None:
        raise BadRequest(
            "The field 'max_tokens' is required: the most tokens the answer may have.",
            param="max_tokens",
        )
    for i, message in enumerate(body["messages"]):
        if message.get("role") not in ("user", "assistant"):
            raise BadRequest(
                f"messages[{i}].role must be 'user' or 'assistant'; put a system prompt in the "
                "top-level 'system' field.",
                param=f"messages[{i}].role",
            )
        if not isinstance(message.get("content"), str | list):
            raise BadRequest(
                f"messages[{i}].content must be a string or a list of content blocks.",
                param=f"messages[{i}].content",
            )
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise BadRequest("'system' must be a string or a list of text blocks.", param="system")


def headers_of(call: Call) -> dict[str, str]:
    return {**keel_headers(call), "request-id": call.id}


def error_response(call: Call, error: KeelError) -> Response:
    headers = {**headers_of(call), **error.headers()}
    return Response(anthropic_error(error, call.id), error.status, headers, _JSON)


def respond(call: Call, answer: Answer) -> Response:
    """The HTTP response for a Messages call's answer."""
    if answer.error is not None:
        return error_response(call, answer.error)
    if answer.events is not None:
        return MessagesStream(call, answer, headers_of(call))
    assert answer.body is not None
    return Response(answer.body.raw, 200, headers_of(call), _JSON)


class MessagesStream(EventStream):
    """Anthropic's server-sent events: each event named by its ``type`` on an ``event:``
    line. A stream that broke ends with an ``error`` event; one that finished ended with the
    ``message_stop`` the upstream (or the translator) sent."""

    def frames(self, events: list[Event]) -> bytes:
        return b"".join([_frame(event) for event in events])

    def tail(self, failure: KeelError | None) -> bytes:
        if failure is None:
            return b""
        return b"event: error\ndata: " + anthropic_error(failure, self.call.id) + b"\n\n"


# The start of each kind's frame, made once.
_HEADS = {
    kind: b"event: " + kind.encode() + b"\ndata: "
    for kind in (
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    )
}


def _frame(event: Event) -> bytes:
    data = event.data
    kind = data.get("type") if data is not None else None
    head = _HEADS.get(kind) if type(kind) is str else None
    if head is None:
        name = kind.encode() if isinstance(kind, str) else b"message"
        head = b"event: " + name + b"\ndata: "
    return head + event.raw + b"\n\n"

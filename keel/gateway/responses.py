"""OpenAI's Responses API: ``POST /v1/responses`` (plain and streamed), ``GET`` and ``DELETE
/v1/responses/{id}``, ``GET /v1/responses/{id}/input_items``.

A request becomes a ``Call`` of the ``responses`` endpoint whose protocol is the Responses
one (``keel.protocols.responses``); the router sends it translated to Chat Completions
deployments (``keel.translate.responses_chat``). A request with ``previous_response_id`` has
the chain's items (from keel's store, within the caller's team) put before its own input
first. The Response is stored (unless ``store: false``) in the transaction of the call's usage
and audit records, before the client gets it, or, for a stream, before its final event
(``response.completed`` or ``response.incomplete``) goes out: that event is held back until the
call is recorded, and a stream whose record could not be committed ends with
``response.failed`` instead. Errors are in OpenAI's shape; a
stream that breaks ends with ``response.failed``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response

from keel.answer import Answer, Event
from keel.call import Call
from keel.config.schema import KeelConfig
from keel.errors import BadRequest, KeelError, NotFound
from keel.gateway.edge import (
    bearer_token,
    check_headers,
    parse_body,
    read_body,
    take_headers,
)
from keel.gateway.edge import request_id as new_request_id
from keel.gateway.openai import keel_headers
from keel.gateway.responses_items import KeptResponse, input_items
from keel.gateway.streaming import EventStream
from keel.pipeline import Before, Pipeline
from keel.protocols.responses import RESPONSES
from keel.store.responses import ChainTooDeep, ResponseNotFound, ResponseStore

__all__ = ["ResponsesRoutes"]

log = logging.getLogger("keel.gateway")

_JSON = "application/json"
_FINAL = frozenset({"response.completed", "response.incomplete"})
# The start of each kind's frame, made once.
_HEADS = {
    kind: b"event: " + kind.encode() + b"\ndata: "
    for kind in (
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        *_FINAL,
    )
}


class ResponsesRoutes:
    """The Responses routes over the same pipeline as every other call, and keel's store."""

    def __init__(
        self, config: KeelConfig, pipeline: Pipeline, identify: Before, store: ResponseStore
    ) -> None:
        self.pipeline = pipeline
        self.identify = identify
        self.store = store
        self.max_body = config.server.max_body_bytes
        self.deadline_s = config.server.deadline_s
        self.limits = config.limits

    async def create(self, request: Request) -> Response:
        call = _call(request)
        refused: KeelError | None = None
        try:
            take_headers(call, request.headers, self.deadline_s)
            parse_body(call, await read_body(request, self.max_body), self.limits)
            given = input_items(call.body["input"])
            if call.body.get("store") is not False:
                call.keep = KeptResponse(given)
            await self._chain(call, given)
        except KeelError as exc:  # recorded like any refusal
            refused = exc
        except Exception as exc:
            log.exception("request %s failed inside keel", call.id)
            refused = KeelError(f"Internal error in keel ({type(exc).__name__}); it is logged.")
        answer = await self.pipeline.run(call, refused)
        return _respond(call, answer)

    async def retrieve(self, request: Request) -> Response:
        team, response_id = await self._owner(request)
        found = await self.store.get_response(team, response_id)
        if found is None:
            raise _not_found(response_id)
        return Response(orjson.dumps(found.as_response()), 200, media_type=_JSON)

    async def delete(self, request: Request) -> Response:
        team, response_id = await self._owner(request)
        if not await self.store.delete_response(team, response_id):
            raise _not_found(response_id)
        gone = {"id": response_id, "object": "response", "deleted": True}
        return Response(orjson.dumps(gone), 200, media_type=_JSON)

    async def input_items(self, request: Request) -> Response:
        team, response_id = await self._owner(request)
        params = request.query_params
        limit = _limit(params.get("limit"))
        order = _order(params.get("order"))
        try:
            page = await self.store.response_input_items(
                team, response_id, params.get("after"), limit, order
            )
        except ValueError as exc:
            raise BadRequest(str(exc), param="after") from None
        if page is None:
            raise _not_found(response_id)
        return Response(orjson.dumps(page.as_list()), 200, media_type=_JSON)

    async def _chain(self, call: Call, given: list[Any]) -> None:
        """Put the chain's items before the request's own input."""
        previous = call.body.get("previous_response_id")
        if previous is None:
            return
        if not isinstance(previous, str):
            raise BadRequest(
                "'previous_response_id' must be a string.", param="previous_response_id"
            )
        await self.identify.before(call)
        assert call.principal is not None
        try:
            chain = await self.store.response_chain(
                call.principal.team, previous, self.limits.max_response_chain
            )
        except ResponseNotFound as exc:
            raise _not_found(exc.response_id, "previous_response_id") from None
        except ChainTooDeep as exc:
            raise BadRequest(str(exc), param="previous_response_id") from None
        call.body["input"] = [*chain, *given]

    async def _owner(self, request: Request) -> tuple[str, str]:
        call = _call(request)
        check_headers(request.headers)
        call.credential = bearer_token(request.headers)
        await self.identify.before(call)
        assert call.principal is not None
        return call.principal.team, request.path_params["response_id"]


def _respond(call: Call, answer: Answer) -> Response:
    if answer.error is not None:
        headers = {**keel_headers(call), **answer.error.headers()}
        return Response(answer.error.to_body(), answer.error.status, headers, _JSON)
    if answer.events is not None:
        return ResponsesStream(call, answer, keel_headers(call))
    assert answer.body is not None
    return Response(answer.body.raw, 200, keel_headers(call), _JSON)


def _call(request: Request) -> Call:
    call_id = new_request_id(request.headers)
    return Call(
        id=call_id, endpoint="responses", body={}, model="", stream=False, protocol=RESPONSES
    )


def _not_found(response_id: str, param: str | None = None) -> NotFound:
    return NotFound(
        f"No response with id {response_id!r} is stored for your team (it may have been "
        "deleted, or stored with 'store': false).",
        param=param,
        code="response_not_found",
    )


def _limit(raw: str | None) -> int:
    if raw is None:
        return 20
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise BadRequest("'limit' must be a whole number from 1 to 100.", param="limit")
    return int(raw)


def _order(raw: str | None) -> Literal["asc", "desc"]:
    if raw in (None, "desc"):
        return "desc"
    if raw == "asc":
        return "asc"
    raise BadRequest("'order' must be 'asc' or 'desc'.", param="order")


class ResponsesStream(EventStream):
    """The Responses API's server-sent events: each named by its ``type`` on an ``event:``
    line, no ``[DONE]``. The final event (``response.completed`` or ``response.incomplete``)
    goes out last, once the call is recorded (with its stored Response). A stream that broke,
    or whose record could not be committed, ends with ``response.failed`` instead: the
    response as it began, its error keel's."""

    def __init__(self, call: Call, answer: Answer, headers: dict[str, str]) -> None:
        super().__init__(call, answer, headers)
        self.started: dict[str, Any] | None = None  # the response of response.created
        self.sequence = 0  # the next event's number
        self.final = b""  # the final event's frame, held until the call is recorded

    def frames(self, events: list[Event]) -> bytes:
        out = []
        for event in events:
            data = event.data
            kind = data.get("type") if data is not None else None
            head = _HEADS.get(kind) if type(kind) is str else None
            if head is None:
                head = b"event: " + (kind.encode() if isinstance(kind, str) else b"message")
                head += b"\ndata: "
            frame = head + event.raw + b"\n\n"
            if kind in _FINAL:
                self.final += frame
                continue
            if data is not None:
                self._follow(data)
            out.append(frame)
        return b"".join(out)

    def _follow(self, data: dict[str, Any]) -> None:
        number = data.get("sequence_number")
        if isinstance(number, int):
            self.sequence = number + 1
        if data.get("type") == "response.created" and isinstance(data.get("response"), dict):
            self.started = data["response"]

    def tail(self, failure: KeelError | None) -> bytes:
        if failure is None:
            return self.final
        if self.started is None:
            event: dict[str, Any] = {"type": "error", "code": failure.code, "message": str(failure)}
            event["param"] = failure.param
        else:
            code = "rate_limit_exceeded" if failure.status == 429 else "server_error"
            error = {"code": code, "message": str(failure)}
            response = {**self.started, "status": "failed", "error": error}
            event = {"type": "response.failed", "response": response}
        event["sequence_number"] = self.sequence
        name = str(event["type"]).encode()
        return b"event: " + name + b"\ndata: " + orjson.dumps(event) + b"\n\n"

"""The OpenAI-compatible routes: translate HTTP into a ``Call``, run the pipeline, answer.

This module only translates; what happens to a call is decided in ``pipeline/`` and ``routing/``.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from keel.call import Call, Endpoint
from keel.errors import KeelError, ModelNotFound, StoreUnavailable, UpstreamError
from keel.gateway.edge import (
    bearer_token,
    check_headers,
    deadline_s,
    parse_body,
    read_body,
    request_id,
)
from keel.gateway.streaming import EventStream
from keel.pipeline.meter import usage_from_answer

if TYPE_CHECKING:
    from keel.gateway.app import Gateway

__all__ = ["OpenAIRoutes", "keel_headers"]

log = logging.getLogger("keel.gateway")

_JSON = "application/json"


def keel_headers(call: Call) -> dict[str, str]:
    headers = {"x-request-id": call.id}
    if call.deployment is not None:
        headers["x-keel-deployment"] = call.deployment
        headers["x-keel-region"] = call.region or ""
    if not call.stream:
        headers["x-keel-cost-usd"] = f"{call.cost_usd:.8f}"
    headers["x-keel-overhead-ms"] = f"{call.overhead_s() * 1000:.3f}"
    if call.limit_headers:
        headers.update(call.limit_headers)
    return headers


class OpenAIRoutes:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.max_body = gateway.config.server.max_body_bytes
        self.deadline_s = gateway.config.server.deadline_s
        self.limits = gateway.config.limits

    async def chat(self, request: Request) -> Response:
        return await self.handle(request, "chat")

    async def completions(self, request: Request) -> Response:
        return await self.handle(request, "completions")

    async def embeddings(self, request: Request) -> Response:
        return await self.handle(request, "embeddings")

    async def handle(self, request: Request, endpoint: Endpoint) -> Response:
        gw = self.gateway
        call = Call(
            id=request_id(request.headers), endpoint=endpoint, body={}, model="", stream=False
        )
        gw.metrics.in_flight.inc()
        streaming = False
        try:
            check_headers(request.headers)  # inside the try: this refusal is recorded too
            call.credential = bearer_token(request.headers)
            call.asked_class = request.headers.get("x-keel-data-class")
            call.deadline = call.started + deadline_s(request.headers, self.deadline_s)
            parse_body(call, await read_body(request, self.max_body), self.limits)
            await gw.pipeline.before(call)
            target, reply = await gw.router.invoke(call)
            if (shadow := gw.shadows.get(call.model)) is not None:
                shadow.copy(call)
            if reply.events is not None:
                streaming = True
                return EventStream(gw, call, target, reply, keel_headers(call))
            return await self.answer(call, reply.body)
        except KeelError as exc:
            return await self.fail(call, exc)
        except Exception as exc:
            log.exception("request %s failed inside keel", call.id)
            internal = KeelError(f"Internal error in keel ({type(exc).__name__}); it is logged.")
            return await self.fail(call, internal)
        finally:
            if not streaming:
                gw.metrics.in_flight.dec()

    async def answer(self, call: Call, body: bytes) -> Response:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamError(
                f"Deployment {call.deployment} answered with something that is not JSON."
            ) from None
        call.usage = usage_from_answer(call, parsed)
        if call.pii is not None:  # the data class's rules on what leaves (DLP, pseudonyms)
            body = self.gateway.guard.answer(call, body)
        call.answer = body
        await self.gateway.pipeline.after(call)
        return Response(body, 200, keel_headers(call), _JSON)

    async def fail(self, call: Call, exc: KeelError) -> Response:
        if not isinstance(exc, StoreUnavailable):
            call.status, call.error = exc.status, exc.code
            # If even the failure cannot be recorded, the client still gets the original error.
            with contextlib.suppress(StoreUnavailable):
                await self.gateway.pipeline.after(call)
        headers = {**keel_headers(call), **exc.headers()}
        return Response(exc.to_body(), exc.status, headers, _JSON)

    async def list_models(self, request: Request) -> Response:
        call = await self._identified(request)
        data = [_model_card(name) for name in self.gateway.router.visible_models(call)]
        return Response(orjson.dumps({"object": "list", "data": data}), 200, media_type=_JSON)

    async def get_model(self, request: Request) -> Response:
        call = await self._identified(request)
        name = request.path_params["model"]
        if name not in self.gateway.router.visible_models(call):
            raise ModelNotFound(f"The model {name!r} does not exist or your key may not use it.")
        return Response(orjson.dumps(_model_card(name)), 200, media_type=_JSON)

    async def _identified(self, request: Request) -> Call:
        call = Call(
            id=request_id(request.headers), endpoint="chat", body={}, model="", stream=False
        )
        check_headers(request.headers)
        call.credential = bearer_token(request.headers)
        await self.gateway.identify.before(call)
        return call


def _model_card(name: str) -> dict[str, object]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "keel"}

"""The OpenAI-compatible routes: an HTTP request becomes a ``Call``, the pipeline's ``Answer``
becomes the response (status, headers, JSON body or server-sent events).

This module only translates; what happens to a call is decided in ``pipeline/`` and ``routing/``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from keel.answer import Answer
from keel.call import Call, Endpoint
from keel.config.schema import KeelConfig
from keel.errors import KeelError, ModelNotFound
from keel.gateway.edge import (
    bearer_token,
    check_headers,
    parse_body,
    read_body,
    request_id,
    take_headers,
)
from keel.gateway.streaming import EventStream
from keel.pipeline import Before, Pipeline

__all__ = ["OpenAIRoutes", "keel_headers", "respond"]

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


def respond(call: Call, answer: Answer) -> Response:
    """The HTTP response for a call's answer."""
    if answer.error is not None:
        headers = {**keel_headers(call), **answer.error.headers()}
        return Response(answer.error.to_body(), answer.error.status, headers, _JSON)
    if answer.events is not None:
        return EventStream(call, answer, keel_headers(call))
    assert answer.body is not None
    return Response(answer.body.raw, 200, keel_headers(call), _JSON)


class OpenAIRoutes:
    def __init__(
        self,
        config: KeelConfig,
        pipeline: Pipeline,
        identify: Before,
        visible_models: Callable[[Call], list[str]],
        protocols: Callable[[str], dict[str, str]] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.identify = identify  # for the model list: who may see which models
        self.visible_models = visible_models
        self.protocols = protocols
        self.max_body = config.server.max_body_bytes
        self.deadline_s = config.server.deadline_s
        self.limits = config.limits

    async def chat(self, request: Request) -> Response:
        return await self.handle(request, "chat")

    async def completions(self, request: Request) -> Response:
        return await self.handle(request, "completions")

    async def embeddings(self, request: Request) -> Response:
        return await self.handle(request, "embeddings")

    async def handle(self, request: Request, endpoint: Endpoint) -> Response:
        call = Call(
            id=request_id(request.headers), endpoint=endpoint, body={}, model="", stream=False
        )
        refused: KeelError | None = None
        try:
            take_headers(call, request.headers, self.deadline_s)
            parse_body(call, await read_body(request, self.max_body), self.limits)
        except KeelError as exc:  # recorded like any refusal
            refused = exc
        except Exception as exc:
            log.exception("request %s failed inside keel", call.id)
            refused = KeelError(f"Internal error in keel ({type(exc).__name__}); it is logged.")
        return respond(call, await self.pipeline.run(call, refused))

    async def list_models(self, request: Request) -> Response:
        call = await self._identified(request)
        data = [self._model_card(name) for name in self.visible_models(call)]
        return Response(orjson.dumps({"object": "list", "data": data}), 200, media_type=_JSON)

    async def get_model(self, request: Request) -> Response:
        call = await self._identified(request)
        name = request.path_params["model"]
        if name not in self.visible_models(call):
            raise ModelNotFound(f"The model {name!r} does not exist or your key may not use it.")
        return Response(orjson.dumps(self._model_card(name)), 200, media_type=_JSON)

    async def _identified(self, request: Request) -> Call:
        call = Call(
            id=request_id(request.headers), endpoint="chat", body={}, model="", stream=False
        )
        check_headers(request.headers)
        call.credential = bearer_token(request.headers)
        await self.identify.before(call)
        return call

    def _model_card(self, name: str) -> dict[str, object]:
        """OpenAI's model object, and how each of keel's client endpoints reaches the model
        (``{"chat": "native", "messages": "translated"}``; see docs/protocols.md)."""
        protocols = self.protocols(name) if self.protocols is not None else {}
        keel = {"protocols": protocols}
        return {"id": name, "object": "model", "created": 0, "owned_by": "keel", "keel": keel}

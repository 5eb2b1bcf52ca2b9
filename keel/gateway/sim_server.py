"""The simulator as a standalone OpenAI-compatible HTTP server (``keel sim --port P``).

It serves the same core as the in-process ``sim`` provider, so a gateway in front of it sees a
real network upstream: keep-alive, SSE framing, 503s with ``retry-after`` when it is full.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from keel.call import Endpoint
from keel.config.schema import DeploymentConfig, SimConfig
from keel.errors import InvalidJSON, UpstreamStatus
from keel.providers.base import UpstreamRequest
from keel.providers.sim import SimProvider

__all__ = ["create_sim_app", "run_sim_server"]

_JSON = "application/json"


def create_sim_app(deployment: DeploymentConfig) -> Starlette:
    """An app answering ``/v1/chat/completions``, ``/v1/completions`` and ``/v1/embeddings``."""
    sim = SimProvider(deployment)
    routes = [
        Route("/v1/chat/completions", _handler(sim, "chat"), methods=["POST"]),
        Route("/v1/completions", _handler(sim, "completions"), methods=["POST"]),
        Route("/v1/embeddings", _handler(sim, "embeddings"), methods=["POST"]),
        Route("/v1/models", _models(deployment.model), methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app


def run_sim_server(host: str, port: int, sim: SimConfig, model: str = "sim-llm") -> None:
    """Serve a simulated ``model`` on ``host:port`` until interrupted."""
    fields = {"name": "sim", "provider": "sim", "model": model, "region": "local", "sim": sim}
    deployment = DeploymentConfig.model_validate(fields)
    app = create_sim_app(deployment)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _handler(sim: SimProvider, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        return await _serve(sim, endpoint, request)

    return handle


async def _serve(sim: SimProvider, endpoint: Endpoint, request: Request) -> Response:
    try:
        body: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _json(InvalidJSON("The request body is not valid JSON.").to_body(), 400)
    if not isinstance(body, dict):
        return _json(InvalidJSON("The request body must be a JSON object.").to_body(), 400)
    stream = endpoint != "embeddings" and body.get("stream") is True
    upstream = UpstreamRequest(endpoint, body, stream, request_id=uuid.uuid4().hex)
    try:
        reply = await sim.send(upstream)
    except UpstreamStatus as error:
        status = error.upstream_status
        return _json(error.body, status, {"retry-after": "1"} if status == 503 else None)
    if reply.events is None:
        return _json(reply.body)
    headers = {"cache-control": "no-cache"}
    events = cast("AsyncIterator[list[bytes]]", reply.events)  # the simulator's: payloads
    return StreamingResponse(_sse(events), media_type="text/event-stream", headers=headers)


async def _sse(events: AsyncIterator[list[bytes]]) -> AsyncIterator[bytes]:
    async for payloads in events:
        yield b"".join(b"data: " + payload + b"\n\n" for payload in payloads)
    yield b"data: [DONE]\n\n"


def _json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=_JSON, headers=headers)


def _models(model: str) -> Callable[[Request], Awaitable[Response]]:
    listing = orjson.dumps(
        {
            "object": "list",
            "data": [{"id": model, "object": "model", "created": 0, "owned_by": "keel-sim"}],
        }
    )

    async def models(request: Request) -> Response:
        return _json(listing)

    return models


async def _health(request: Request) -> Response:
    return _json(b'{"status":"ok"}')

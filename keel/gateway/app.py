"""The gateway: builds every part from a config and serves them as one ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from keel.audit.trail import open_trail
from keel.config.schema import KeelConfig
from keel.errors import KeelError
from keel.gateway.admin import AdminRoutes
from keel.gateway.admin_models import AdminModelRoutes
from keel.gateway.anthropic import MessagesRoutes
from keel.gateway.feedback import FeedbackRoutes
from keel.gateway.oip import OIPRoutes
from keel.gateway.openai import OpenAIRoutes
from keel.gateway.openapi import document_bytes
from keel.gateway.responses import ResponsesRoutes
from keel.monitor.access_log import AccessLog
from keel.monitor.alerts import Alerter
from keel.monitor.metrics import Metrics
from keel.monitor.monitors import build_tap
from keel.pipeline import Pipeline
from keel.pipeline.account import Account
from keel.pipeline.admit import Admit
from keel.pipeline.admit_predictions import AdmitPredictions
from keel.pipeline.classify import Classify
from keel.pipeline.guard import Guard
from keel.pipeline.identify import Identify
from keel.pipeline.meter import Meter
from keel.pipeline.shadow import Shadows
from keel.providers import build_provider
from keel.registry.artifacts import ArtifactStore, artifact_root
from keel.routing.health import Prober
from keel.routing.rollouts import Rollouts
from keel.routing.router import Router
from keel.serving.predictor import Predictor
from keel.state import open_state
from keel.store import open_store
from keel.store.ledger import Ledger

if TYPE_CHECKING:
    from keel.monitor.tracing import Tracer

__all__ = ["Gateway", "create_app"]


class Gateway:
    """Everything one keel process runs: store, ledger, providers, router, pipeline."""

    def __init__(self, config: KeelConfig, access_log: AccessLog | None = None) -> None:
        self.config = config
        self.store = open_store(config.store.url)
        self.ledger = Ledger(self.store, config.store.commit_batch_max, trail=open_trail(config))
        self.metrics = Metrics()
        self.providers = {d.name: build_provider(d) for d in config.deployments}
        self.rollouts = Rollouts(config, self.store, self.metrics.rolled_back)
        for model in config.models:  # at 0 from the start: an alert sees the first rollback
            self.metrics.rollbacks.labels(model)
        self.router = Router(config, self.providers, self.rollouts)
        self.prober = Prober(self.router.targets.values())
        for name, target in self.router.targets.items():  # keel_deployment_up follows breakers
            target.breaker.on_change = partial(self.metrics.set_up, name)
            self.metrics.set_up(name, target.breaker.up)
        self.identify = Identify(config, self.store, config.server.key_cache_s)
        log = access_log or AccessLog(enabled=config.server.access_log)
        self.state = open_state(config.state)
        self.alerter = Alerter(config.alerts, self.store, self._once, metrics=self.metrics)
        self.tap = build_tap(config, self.store, self.metrics, self.rollouts, self.alerter)
        self.account = Account(config, self.ledger, self.metrics, log, self.tap)
        self.guard = Guard(config)
        self.admit = Admit(config, self.state, self.store, self.metrics, alerter=self.alerter)
        meter = Meter(self.metrics)
        self.tracer = _tracer(config)
        # A shadow copy is metered and recorded like any call: by the same stages.
        self.shadows = Shadows(
            config, self.providers, [meter, self.account], self.metrics, self.router.regions_of
        )
        self.pipeline = Pipeline(
            [self.identify, self.admit, Classify(config), self.guard, meter, self.account],
            self.router.invoke,
            copy=self.shadows.copy if self.shadows.lanes else None,
            metrics=self.metrics,
            tracer=self.tracer,
        )
        # Predictive models (OIP v2): identified, admitted (the same budgets and rate limits,
        # counted per prediction), classified and recorded like every call. A shadow
        # prediction is recorded like any call: by the account stage.
        self.predictor = Predictor(
            self.store,
            ArtifactStore(artifact_root(config)),
            config.predictive,
            self.metrics,
            shadow_stages=[self.account],
        )
        admit_predictions = AdmitPredictions(self.admit, config.predictive)
        self.predictions = Pipeline(
            [self.identify, admit_predictions, Classify(config), self.account],
            self.predictor.invoke,
            metrics=self.metrics,
            tracer=self.tracer,
        )

    async def start(self) -> None:
        await self.store.start()
        await self.ledger.start()
        await self.admit.start()
        await self.alerter.start()
        await asyncio.gather(*(p.start() for p in self.providers.values()))
        self.prober.start()
        await self.shadows.start()
        await self.rollouts.start(self.config.server.rollout_refresh_s)
        await self.predictor.start()
        if self.tap is not None:
            await self.tap.start()
        # What start-up built lives as long as the process: keep it out of the collector's
        # full passes, which would otherwise walk it on the hot path.
        gc.collect()
        gc.freeze()

    async def close(self) -> None:
        if self.tap is not None:
            await self.tap.close()
        await self.prober.close()
        await self.rollouts.close()
        await self.shadows.close()
        await asyncio.gather(*(p.close() for p in self.providers.values()))
        await self.admit.close()
        await self.alerter.close()
        await self.predictor.stop()
        self.predictor.close()
        await self.ledger.close()
        await self.store.close()
        if self.tracer is not None:  # the last spans out, off the event loop
            await asyncio.to_thread(self.tracer.shutdown)

    async def _once(self, key: str, ttl_s: float) -> bool:
        """An alert's claim, shared by every replica through the state backend."""
        now_ms = int(time.time() * 1000)
        return await self.state.once(
            f"{self.config.state.prefix}:alert:{key}", int(ttl_s * 1000), now_ms
        )

    async def scrape(self) -> bytes:
        """/metrics: first ask the store and the state backend whether they answer (so an
        idle gateway still shows a backend down) and move budgets into the current period."""
        scheme = self.config.store.url.partition(":")[0]
        store = "postgresql" if scheme.startswith("postgres") else scheme
        self.metrics.store_up.labels(store).set(await _answers(self.store.ping()))
        if self.admit.active:
            state = self.state.url.partition(":")[0]
            self.metrics.state_up.labels(state).set(await _answers(self.state.ping()))
            self.admit.roll_periods()
        return self.metrics.render()

    def deployments(self) -> dict[str, dict[str, object]]:
        """Each deployment's state as /readyz shows it: does it get traffic, its breaker, and
        what its active probe (if any) says."""
        states: dict[str, dict[str, object]] = {}
        for name, target in self.router.targets.items():
            watch = self.prober.watches.get(name)
            probe = {"probe": "off"} if watch is None else watch.describe()
            states[name] = {"up": target.breaker.up, "breaker": target.breaker.state.value, **probe}
        return states


def _tracer(config: KeelConfig) -> Tracer | None:
    """The tracer, when tracing is on. Imported here, only then: with tracing off keel pays
    neither OpenTelemetry's import nor a span per call."""
    if not config.tracing.enabled:
        return None
    from keel.monitor.tracing import Tracer

    return Tracer(config)


Handler = Callable[[Request], Awaitable[Response]]


def create_app(config: KeelConfig, access_log: AccessLog | None = None) -> HotPath:
    gateway = Gateway(config, access_log)
    api = OpenAIRoutes(
        config,
        gateway.pipeline,
        gateway.identify,
        gateway.router.visible_models,
        gateway.router.protocols,
    )
    messages = MessagesRoutes(
        config, gateway.pipeline, gateway.identify, gateway.router.visible_models
    )
    responses = ResponsesRoutes(config, gateway.pipeline, gateway.identify, gateway.store)
    admin_api = AdminRoutes(config, gateway.store, gateway.ledger)
    registry = AdminModelRoutes(
        config, admin_api, gateway.store, gateway.predictor.artifacts, gateway.predictor.cache.wake
    )
    feedback = FeedbackRoutes(config, gateway.store, gateway.identify)
    oip = OIPRoutes(config, gateway.predictions, gateway.identify, gateway.predictor)

    async def healthz(_: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(_: Request) -> Response:
        # Ready while the store answers: a deployment that is down is shown, not fatal, since
        # the others still serve.
        deployments = gateway.deployments()
        try:
            await asyncio.wait_for(gateway.store.ping(), timeout=2.0)
        except Exception as exc:
            reason = f"store unreachable: {exc}"
            return _json({"status": "not ready", "reason": reason, "deployments": deployments}, 503)
        ready: dict[str, object] = {"status": "ready", "deployments": deployments}
        if gateway.admit.active:  # shown, not fatal: each policy says what to do without it
            try:
                await asyncio.wait_for(gateway.state.ping(), timeout=2.0)
                ready["state"] = "ok"
            except Exception as exc:
                ready["state"] = f"{gateway.state.url} is {exc or type(exc).__name__}"
        return _json(ready)

    async def metrics(_: Request) -> Response:
        return Response(await gateway.scrape(), media_type=CONTENT_TYPE_LATEST)

    openapi = document_bytes(config)  # built once: it changes only with the code and config

    async def openapi_json(_: Request) -> Response:
        return Response(openapi, media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.close()

    routes = [
        Route("/v1/chat/completions", api.chat, methods=["POST"]),
        Route("/v1/completions", api.completions, methods=["POST"]),
        Route("/v1/embeddings", api.embeddings, methods=["POST"]),
        Route("/v1/messages", messages.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", messages.count_tokens, methods=["POST"]),
        Route("/v1/responses", responses.create, methods=["POST"]),
        Route("/v1/responses/{response_id}", responses.retrieve, methods=["GET"]),
        Route("/v1/responses/{response_id}", responses.delete, methods=["DELETE"]),
        Route("/v1/responses/{response_id}/input_items", responses.input_items, methods=["GET"]),
        Route("/v1/models", api.list_models, methods=["GET"]),
        Route("/v1/feedback", feedback.post, methods=["POST"]),
        Route("/v1/models/{model:path}", api.get_model, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/admin/keys", admin_api.keys, methods=["GET", "POST"]),
        Route("/admin/keys/{key_id}", admin_api.key, methods=["DELETE"]),
        Route("/admin/teams", admin_api.teams, methods=["GET"]),
        Route("/admin/models", registry.models, methods=["GET"]),
        Route("/admin/models/{name}", registry.model, methods=["GET"]),
        Route("/admin/models/{name}/lineage", registry.lineage, methods=["GET"]),
        Route("/admin/models/{name}/versions", registry.register, methods=["POST"]),
        Route(
            "/admin/models/{name}/versions/{version}/archive", registry.archive, methods=["POST"]
        ),
        Route("/admin/models/{name}/aliases/{alias}", registry.alias, methods=["POST"]),
        Route("/v2", oip.server, methods=["GET"]),
        Route("/v2/health/live", oip.live, methods=["GET"]),
        Route("/v2/health/ready", oip.ready, methods=["GET"]),
        Route("/v2/models/{model}", oip.model, methods=["GET"]),
        Route("/v2/models/{model}/ready", oip.model_ready, methods=["GET"]),
        Route("/v2/models/{model}/infer", oip.infer, methods=["POST"]),
        Route("/v2/models/{model}/versions/{version}", oip.model, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}/ready", oip.model_ready, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}/infer", oip.infer, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            KeelError: _keel_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
    app.state.gateway = gateway
    hot: dict[str, Handler] = {"/v1/chat/completions": api.chat, "/v1/completions": api.completions,
           "/v1/embeddings": api.embeddings, "/v1/messages": messages.messages,
           "/v1/responses": responses.create}  # fmt: skip
    return HotPath(app, hot)


class HotPath:
    """Serves the POST routes that carry traffic straight from the ASGI scope, skipping the
    middleware stack and route matching; everything else (and lifespan) goes to Starlette.
    The handlers answer every error themselves, unexpected ones included."""

    def __init__(self, app: Starlette, routes: dict[str, Handler]) -> None:
        self.app = app
        self.routes = routes
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.routes.get(scope["path"])
            if handler is not None:
                response = await handler(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _answers(ping: Awaitable[None]) -> int:
    """1 if a backend's ping answers within two seconds, else 0."""
    try:
        await asyncio.wait_for(ping, timeout=2.0)
    except Exception:
        return 0
    return 1


def _json(obj: object, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status, media_type="application/json")


async def _keel_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, KeelError)
    return Response(exc.to_body(), exc.status, exc.headers(), "application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = (
            f"No route {request.url.path}. keel serves /v1/chat/completions, "
            "/v1/completions, /v1/embeddings, /v1/messages, /v1/responses, /v1/models and "
            "/v1/feedback; "
            "GET /openapi.json describes every route."
        )
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
    else:
        message = str(exc.detail)
    body = {
        "error": {"message": message, "type": "invalid_request_error", "code": None, "param": None}
    }
    return Response(orjson.dumps(body), exc.status_code, exc.headers, "application/json")


async def _internal_error(_: Request, exc: Exception) -> Response:
    return Response(
        KeelError(f"Internal error in keel: {type(exc).__name__}. It has been logged.").to_body(),
        500,
        media_type="application/json",
    )

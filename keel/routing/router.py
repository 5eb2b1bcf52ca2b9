"""Stages 6 and 7, route and invoke: pick a deployment of the logical model and call it.

For now the strategy is ``priority``: candidates in the order the config lists them. A
deployment at its ``max_concurrency`` is skipped; an upstream that fails before answering
(unreachable, timeout, 5xx, 429) is recorded as a failed attempt and the next candidate tried.
A 4xx about the request itself goes straight back to the client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from keel.call import Attempt, Call
from keel.config.schema import DeploymentConfig, KeelConfig
from keel.errors import (
    ModelNotFound,
    Overloaded,
    PermissionDenied,
    UnsupportedOperation,
    UpstreamError,
)
from keel.providers.base import Provider, UpstreamReply, UpstreamRequest

__all__ = ["Router", "Target"]

_ENDPOINT_NAMES = {
    "chat": "chat completions",
    "completions": "completions",
    "embeddings": "embeddings",
}


@dataclass(slots=True)
class Target:
    """A deployment as the router sees it: its config, its adapter, its load."""

    deployment: DeploymentConfig
    provider: Provider
    in_flight: int = 0

    def release(self) -> None:
        self.in_flight -= 1


class Router:
    def __init__(self, config: KeelConfig, providers: dict[str, Provider]) -> None:
        targets = {d.name: Target(d, providers[d.name]) for d in config.deployments}
        self.models: dict[str, tuple[Target, ...]] = {
            name: tuple(targets[ref] for ref in spec.deployments)
            for name, spec in config.models.items()
        }

    def visible_models(self, call: Call) -> list[str]:
        principal = call.principal
        return [m for m in self.models if principal is None or principal.may_use(m)]

    def candidates(self, call: Call) -> tuple[Target, ...]:
        targets = self.models.get(call.model)
        if targets is None:
            allowed = ", ".join(self.visible_models(call)) or "none"
            raise ModelNotFound(
                f"The model {call.model!r} does not exist. Models your key may use: {allowed} "
                "(GET /v1/models).",
                param="model",
            )
        if call.principal is not None and not call.principal.may_use(call.model):
            raise PermissionDenied(
                f"Team {call.principal.team!r} may not use the model {call.model!r}. "
                "Ask your keel admin to add it to the team's models.",
                param="model",
                code="model_not_allowed",
            )
        usable = tuple(t for t in targets if call.endpoint in t.provider.endpoints)
        if not usable:
            raise UnsupportedOperation(
                f"The model {call.model!r} does not serve {_ENDPOINT_NAMES[call.endpoint]}.",
                param="model",
            )
        return usable

    async def invoke(self, call: Call) -> tuple[Target, UpstreamReply]:
        """Call candidates in order until one answers. For a stream the caller must
        ``release()`` the returned target when the stream ends; otherwise it is released here."""
        last_error: UpstreamError | None = None
        busy = 0
        for target in self.candidates(call):
            if target.in_flight >= target.deployment.max_concurrency:
                busy += 1
                call.attempts.append(Attempt(target.deployment.name, "overloaded", 0.0))
                continue
            target.in_flight += 1
            reply = await self._try(call, target)
            if isinstance(reply, UpstreamReply):
                if not call.stream:
                    target.release()
                return target, reply
            target.release()
            if not reply.retryable:
                raise reply
            last_error = reply
        if last_error is not None:
            raise last_error
        raise Overloaded(
            f"All {busy} deployments of {call.model!r} are at their concurrency limit. "
            "Retry after a moment.",
        )

    async def _try(self, call: Call, target: Target) -> UpstreamReply | UpstreamError:
        d = target.deployment
        request = UpstreamRequest(call.endpoint, _upstream_body(call, d), call.stream, call.id)
        started = time.perf_counter()
        try:
            reply = await target.provider.send(request)
        except UpstreamError as exc:
            elapsed = time.perf_counter() - started
            call.upstream_s += elapsed
            call.attempts.append(Attempt(d.name, exc.code, elapsed))
            return exc
        elapsed = time.perf_counter() - started
        call.upstream_s += elapsed
        call.attempts.append(Attempt(d.name, None, elapsed))
        call.deployment = d.name
        call.region = d.region
        return reply


def _upstream_body(call: Call, deployment: DeploymentConfig) -> dict[str, object]:
    body = dict(call.body)
    body["model"] = deployment.model
    if call.stream and call.endpoint != "embeddings":
        # keel always asks for the usage chunk so it can meter the stream; the edge strips it
        # from the client's stream when the client did not ask for it.
        options = body.get("stream_options")
        body["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    return body

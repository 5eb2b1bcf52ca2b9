"""Stages 6 and 7, route and invoke: pick a deployment of the logical model and call it.

For now the strategy is ``priority``: candidates in the order the config lists them. A
deployment at its ``max_concurrency`` is skipped. An upstream that fails before answering is
recorded as a failed attempt; 429, 5xx and connection failures are retried on the same
deployment with backoff (see ``retry_wait``), a silent one is not, and then the next candidate
is tried, all within the request's deadline. A 4xx about the request itself goes straight
back to the client.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from keel.call import Attempt, Call
from keel.config.schema import DeploymentConfig, KeelConfig
from keel.errors import (
    ModelNotFound,
    Overloaded,
    PermissionDenied,
    UnsupportedOperation,
    UpstreamError,
    UpstreamTimeout,
)
from keel.providers.base import Provider, UpstreamReply, UpstreamRequest
from keel.routing.breaker import Breaker, State
from keel.routing.live import Rollouts
from keel.routing.strategies import LatencyWatch, order

__all__ = ["Router", "Target"]

_ENDPOINT_NAMES = {
    "chat": "chat completions",
    "completions": "completions",
    "embeddings": "embeddings",
}


@dataclass(slots=True)
class Target:
    """A deployment as the router sees it: its config, its adapter, its load, its health."""

    deployment: DeploymentConfig
    provider: Provider
    breaker: Breaker
    in_flight: int = 0

    def release(self) -> None:
        self.in_flight -= 1


class Router:
    def __init__(
        self, config: KeelConfig, providers: dict[str, Provider], rollouts: Rollouts | None = None
    ) -> None:
        targets = {
            d.name: Target(d, providers[d.name], Breaker(d.breaker)) for d in config.deployments
        }
        self.models: dict[str, tuple[Target, ...]] = {
            name: tuple(targets[ref] for ref in spec.deployments)
            for name, spec in config.models.items()
        }
        self.strategies = {
            name: (spec.strategy, spec.weights)
            for name, spec in config.models.items()
            if spec.strategy != "priority"  # the default needs no reordering
        }
        self.latency = LatencyWatch()
        self.rng = random.Random()
        self.rollouts = rollouts if rollouts is not None else Rollouts(config)

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
        """Call candidates in order until one answers, within the call's deadline. For a stream
        the caller must ``release()`` the returned target when the stream ends."""
        last_error: UpstreamError | None = None
        busy = 0
        cooling: list[float] = []
        candidates: Sequence[Target] = self.candidates(call)
        if (strategy := self.strategies.get(call.model)) is not None:
            candidates = order(strategy[0], candidates, strategy[1], self.latency, self.rng)
        if (rollout := self.rollouts.get(call.model)) is not None:
            candidates = rollout.order(call, candidates)
        for target in candidates:
            if target.in_flight >= target.deployment.max_concurrency:
                busy += 1
                call.attempts.append(Attempt(target.deployment.name, "overloaded", 0.0))
                continue
            if call.remaining_s() <= 0:
                break
            if not target.breaker.allow():
                cooling.append(target.breaker.retry_after_s())
                call.attempts.append(Attempt(target.deployment.name, "circuit_open", 0.0))
                continue
            outcome = await self._attempts(call, target)
            if rollout is not None:
                rollout.observe(target.deployment.name, call.attempts)
            if isinstance(outcome, UpstreamReply):
                return target, outcome
            if not outcome.retryable:
                raise outcome
            last_error = outcome
        if call.remaining_s() <= 0:
            raise UpstreamTimeout(
                f"No deployment of {call.model!r} answered within the request's deadline. "
                "Retry later, or allow more time (x-keel-timeout)."
            )
        if last_error is not None:
            raise last_error
        if cooling:
            raise Overloaded(
                f"Every deployment of {call.model!r} is failing and resting (circuit open). "
                "Retry after the time in retry-after.",
                retry_after_s=max(1, math.ceil(min(cooling))),
                code="circuit_open",
            )
        raise Overloaded(
            f"All {busy} deployments of {call.model!r} are at their concurrency limit. "
            "Retry after a moment.",
        )

    async def _attempts(self, call: Call, target: Target) -> UpstreamReply | UpstreamError:
        """Try one deployment, retrying what a retry may cure, as its policy and the deadline
        allow. The last error is returned for the caller to fail over or give up."""
        d = target.deployment
        attempt = 0
        while True:
            target.in_flight += 1
            outcome = await self._try(call, target)
            if isinstance(outcome, UpstreamReply):
                target.breaker.success()
                if not call.stream:
                    target.release()
                return outcome
            target.release()
            if outcome.retryable:
                target.breaker.failure()
            else:
                target.breaker.success()  # it answered: the request was at fault, not it
            if not outcome.retryable or target.breaker.state is not State.CLOSED:
                return outcome  # a 4xx is the request's doing; an open breaker means stop
            wait = retry_wait(outcome, attempt, d, call.remaining_s())
            if wait is None:
                return outcome
            await asyncio.sleep(wait)
            attempt += 1

    async def _try(self, call: Call, target: Target) -> UpstreamReply | UpstreamError:
        d = target.deployment
        request = UpstreamRequest(call.endpoint, _upstream_body(call, d), call.stream, call.id)
        started = time.perf_counter()
        remaining = call.remaining_s()
        try:
            if remaining < d.timeouts.total_s:
                async with asyncio.timeout(remaining):
                    reply = await target.provider.send(request)
            else:  # the upstream's own total timeout ends the call first: no timer needed
                reply = await target.provider.send(request)
        except UpstreamError as exc:
            return _failed(call, d.name, exc, started)
        except TimeoutError:
            late = UpstreamTimeout(f"deployment {d.name} did not answer within the deadline")
            return _failed(call, d.name, late, started)
        elapsed = time.perf_counter() - started
        call.upstream_s += elapsed
        call.attempts.append(Attempt(d.name, None, elapsed))
        # For a stream this is the time to its first bytes, which stands in for first token.
        self.latency.observe(d.name, elapsed)
        call.deployment = d.name
        call.region = d.region
        return reply


def retry_wait(
    error: UpstreamError, attempt: int, deployment: DeploymentConfig, remaining_s: float
) -> float | None:
    """Seconds to wait before trying the same deployment again, or None to move on.

    A 4xx about the request goes back to the client; a deployment that said nothing in time
    is not asked again; a 429's Retry-After is honoured when it fits the deadline, else keel
    fails over; otherwise exponential backoff with full jitter, ``retries`` times at most."""
    if not error.retryable or isinstance(error, UpstreamTimeout) or attempt >= deployment.retries:
        return None
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        return retry_after if retry_after < remaining_s else None
    cap = min(deployment.backoff_max_s, deployment.backoff_s * 2**attempt)
    wait = random.uniform(0, cap)
    return wait if wait < remaining_s else None


def _failed(call: Call, name: str, error: UpstreamError, started: float) -> UpstreamError:
    elapsed = time.perf_counter() - started
    call.upstream_s += elapsed
    call.attempts.append(Attempt(name, error.code, elapsed))
    return error


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

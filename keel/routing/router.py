"""Stages 6 and 7, route and invoke: pick a deployment of the logical model and call it.

The model's strategy orders its deployments; the first one that is free and whose breaker lets
it is called. When one fails, the model's ``on_error`` policy says what follows, by the kind of
failure (``UpstreamError.kind``): ``retry`` the same deployment with backoff (``retry_wait``),
then the next; ``failover`` to the next at once; ``fallback`` to the model's larger-context
``context_fallback``; or ``return`` the error to the client. A stream is handed over only once
its first token is in, so a failure before that is failed over like any other; one that breaks
later is resumed on another deployment where it can be (routing/stream.py). When every
deployment is at its ``max_concurrency`` the call waits in a bounded queue; past it, 503.
All of it within the request's deadline. The answer is an ``Answer``: a whole body, or a
stream that holds its deployment's slot until it ends.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from keel.answer import Answer, Event, Item, Items, Resumed
from keel.call import CLIENT_ENDPOINTS, Attempt, Call
from keel.config.schema import DeploymentConfig, ErrorPolicy, KeelConfig, ModelConfig
from keel.errors import (
    CLIENT_KINDS,
    KeelError,
    ModelNotFound,
    Overloaded,
    PermissionDenied,
    ResidencyViolation,
    StreamBroken,
    StreamDiverged,
    UnsupportedOperation,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
)
from keel.providers.base import Provider, UpstreamReply, UpstreamRequest
from keel.routing.breaker import Breaker, BreakerState
from keel.routing.first_token import await_first_token, close_events, parse
from keel.routing.resume import Splice, continuation, resumable
from keel.routing.rollouts import Rollouts
from keel.routing.split import Split
from keel.routing.strategies import LatencyWatch, order
from keel.routing.stream import Progress
from keel.routing.target import Target
from keel.translate import Translated, Translator

__all__ = ["Router", "Target", "retry_wait"]

_ENDPOINT_NAMES = {
    "messages": "messages",
    "chat": "chat completions",
    "completions": "completions",
    "embeddings": "embeddings",
}

# The deployment that answered, its reply, and the route it was on (a resume goes on along it).
Routed = tuple[Target, UpstreamReply, Sequence[Target]]


@dataclass(slots=True)
class _Tally:
    """What went wrong on the way through a model's deployments, to explain the outcome; and
    the model's live rollout, which hears how each deployment tried did."""

    rollout: Split | None = None
    last_error: UpstreamError | None = None
    busy: list[Target] = field(default_factory=list)
    cooling: list[float] = field(default_factory=list)
    out_of_time: bool = False  # a wait in a queue ran into the deadline


class Router:
    def __init__(
        self, config: KeelConfig, providers: dict[str, Provider], rollouts: Rollouts | None = None
    ) -> None:
        self.targets = {
            d.name: Target(d, providers[d.name], Breaker(d.breaker)) for d in config.deployments
        }
        self.models: dict[str, tuple[Target, ...]] = {
            name: tuple(self.targets[ref] for ref in spec.deployments)
            for name, spec in config.models.items()
        }
        self.specs: dict[str, ModelConfig] = dict(config.models)
        self.regions_of = {name: frozenset(dc.regions) for name, dc in config.data_classes.items()}
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

    def protocols(self, model: str) -> dict[str, str]:
        """How each client endpoint reaches the model: ``native`` if one of its deployments
        takes it as the client sent it, ``translated`` if one can through a translator (keel's,
        or its adapter's own); endpoints none can are left out."""
        found: dict[str, str] = {}
        for target in self.models.get(model, ()):
            provider = target.provider
            for endpoint in CLIENT_ENDPOINTS:
                if endpoint in provider.endpoints - provider.translates:
                    found[endpoint] = "native"
                elif endpoint not in found and target.sender(endpoint) is not None:
                    found[endpoint] = "translated"
        return {e: found[e] for e in CLIENT_ENDPOINTS if e in found}

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
        usable = self._serving(call, call.model)
        if not usable:
            if call.data_class is not None and self._serving(call, call.model, anywhere=True):
                raise self._residency(call)
            if (refused := self._untranslatable(call)) is not None:
                raise refused
            raise UnsupportedOperation(
                f"The model {call.model!r} does not serve {_ENDPOINT_NAMES[call.endpoint]}.",
                param="model",
            )
        return usable

    async def invoke(self, call: Call) -> Answer:
        """Call candidates until one answers, within the call's deadline: its whole answer,
        or its stream (which releases the deployment's slot when it ends, and must be
        iterated to its end or closed)."""
        target, reply, route = await self._route(call, call.model, self.candidates(call))
        if reply.events is None:
            return Answer(body=reply.answer or Event(reply.body))
        relay = self._relay(call, target, reply, route)
        return Answer(events=Items(relay, partial(_abandon, target, reply)))

    async def _relay(
        self, call: Call, target: Target, reply: UpstreamReply, route: Sequence[Target]
    ) -> AsyncGenerator[Item, None]:
        """The stream's events; if it breaks, carry on from a fallback while one can."""
        # What was sent is followed where another deployment could carry the stream on.
        protocol = call.protocol
        finishes = None if protocol.chat_chunks else protocol.finishes
        progress = Progress(len(route) > 1 and self._may_resume(call), finishes)
        splice: Splice | None = None
        try:
            while True:
                source = reply.events
                assert source is not None
                parsed = reply.parsed
                try:
                    try:
                        # What was read while waiting for the first token, then the rest.
                        for events in reply.prefetched:
                            yield _onward(events, splice, progress)
                        reply.prefetched = []
                        waited = time.perf_counter()
                        async for payloads in source:
                            call.upstream_s += time.perf_counter() - waited
                            events = parse(payloads, parsed)
                            if splice is not None:
                                events = splice.feed(events)
                            progress.see(events)
                            yield events
                            waited = time.perf_counter()
                        call.upstream_s += time.perf_counter() - waited
                        failure = progress.failure(reply, call)
                    finally:
                        await close_events(source)
                except StreamBroken as exc:
                    failure = exc
                if failure is None:
                    return
                self.broke(call, target, failure)
                found = None
                if progress.resumable():
                    found = await self.resume(call, target, progress.text, route)
                if found is None:
                    raise failure
                broken = target
                target, reply, splice = found
                broken.release()
                progress.error = None
                yield Resumed(broken.name, target.name, failure.code or "", splice.kind)
        finally:
            target.release()

    def _may_resume(self, call: Call) -> bool:
        return self.specs[call.model].stream_recovery and resumable(call)

    def _serving(self, call: Call, model: str, anywhere: bool = False) -> tuple[Target, ...]:
        """The model's deployments that serve the call's endpoint, in the regions its data
        class allows: the one filter no failover, retry, canary or resume ever relaxes."""
        checked: dict[Translator, bool] = {}  # a translator's verdict on this call, asked once
        serving = tuple(t for t in self.models[model] if self._sends(call, t, checked))
        if call.data_class is None or anywhere:
            return serving
        allowed = self.regions_of[call.data_class]
        return tuple(t for t in serving if t.deployment.region in allowed)

    def _sends(self, call: Call, target: Target, checked: dict[Translator, bool]) -> bool:
        """Can the call go to the deployment: natively, or translated (when the translator
        can say everything the request asks)?"""
        sender = target.sender(call.endpoint)
        if sender is None:
            return False
        if not isinstance(sender, Translated):
            return True
        translator = sender.translator
        fits = checked.get(translator)
        if fits is None:
            fits = checked[translator] = translator.refusal(call.body) is None
        return fits

    def _untranslatable(self, call: Call) -> KeelError | None:
        """Why the model's deployments that would take the call translated cannot: a 400
        naming the field, when no deployment takes it natively either."""
        for target in self.models[call.model]:
            sender = target.sender(call.endpoint)
            if isinstance(sender, Translated):
                refused = sender.translator.refusal(call.body)
                if refused is not None:
                    return refused
        return None

    def _residency(self, call: Call) -> ResidencyViolation:
        allowed = ", ".join(sorted(self.regions_of[call.data_class or ""]))
        return ResidencyViolation(
            f"Data of class {call.data_class!r} may be processed only in {allowed}, and no "
            f"deployment of {call.model!r} runs there. Ask your keel admin to add one, or use "
            "another model.",
            param="model",
        )

    async def _route(self, call: Call, model: str, candidates: Sequence[Target]) -> Routed:
        if (strategy := self.strategies.get(model)) is not None:
            candidates = order(strategy[0], candidates, strategy[1], self.latency, self.rng)
        if (rollout := self.rollouts.get(model)) is not None:
            candidates = rollout.order(call, candidates)
        spec = self.specs[model]
        tally = _Tally(rollout)
        for target in candidates:
            if target.full():
                tally.busy.append(target)
                call.attempts.append(Attempt(target.name, "overloaded", 0.0))
                continue
            target.acquire()
            if (routed := await self._use(call, target, spec, tally, candidates)) is not None:
                return routed
        for target in tally.busy:  # all were busy or failed: wait in line where there is room
            remaining = call.remaining_s()
            wait = min(remaining, target.deployment.queue_timeout_s)
            if not await target.wait_for_slot(wait):
                tally.out_of_time |= wait == remaining
                continue
            if (routed := await self._use(call, target, spec, tally, candidates)) is not None:
                return routed
        raise _outcome(call, model, tally)

    async def _use(
        self,
        call: Call,
        target: Target,
        spec: ModelConfig,
        tally: _Tally,
        route: Sequence[Target],
    ) -> Routed | None:
        """Use one deployment whose slot the caller holds: its answer, or None to go on."""
        if call.remaining_s() <= 0 or not target.breaker.allow():
            if call.remaining_s() > 0:
                tally.cooling.append(target.breaker.retry_after_s())
                call.attempts.append(Attempt(target.name, "circuit_open", 0.0))
            target.release()
            return None
        try:
            outcome = await self._attempts(call, target, spec.on_error)
        except BaseException:
            target.release()
            raise
        if tally.rollout is not None:
            tally.rollout.observe(target.name, call.attempts)
        if isinstance(outcome, UpstreamReply):
            if not call.stream:
                target.release()
            return target, outcome, route
        target.release()
        action = getattr(spec.on_error, outcome.kind)
        if action == "return":
            raise outcome
        if action == "fallback":
            return await self._context_fallback(call, spec, outcome)
        tally.last_error = outcome
        return None

    async def _context_fallback(
        self, call: Call, spec: ModelConfig, error: UpstreamError
    ) -> Routed:
        """The prompt is too long for this model: never ask it again, ask the larger one."""
        if spec.context_fallback is None:
            raise error
        usable = self._serving(call, spec.context_fallback)
        if not usable:
            raise error
        return await self._route(call, spec.context_fallback, usable)

    async def _attempts(
        self, call: Call, target: Target, policy: ErrorPolicy
    ) -> UpstreamReply | UpstreamError:
        """Try one deployment, retrying what the policy says a retry may cure, as its retries
        and the deadline allow. The last error is returned for the caller to act on."""
        d = target.deployment
        attempt = 0
        while True:
            outcome = await self._try(call, target)
            if isinstance(outcome, UpstreamReply):
                target.breaker.success()
                return outcome
            if outcome.kind in CLIENT_KINDS:
                target.breaker.success()  # it answered: the request was at fault, not it
            else:
                target.breaker.failure()
            if (
                getattr(policy, outcome.kind) != "retry"
                or target.breaker.state is not BreakerState.CLOSED
            ):
                return outcome  # not the kind a retry cures, or its breaker says stop
            wait = retry_wait(outcome, attempt, d, call.remaining_s())
            if wait is None:
                return outcome
            await asyncio.sleep(wait)
            attempt += 1

    async def _try(
        self, call: Call, target: Target, body: dict[str, Any] | None = None
    ) -> UpstreamReply | UpstreamError:
        d = target.deployment
        raw = call.raw if body is None else None  # a resumed call's body is not the client's
        if body is None:
            body = _upstream_body(call, d)
        span = None if call.trace is None else call.trace.attempt(call, d)
        if span is not None:
            context: dict[str, str] | None = span.context
        elif call.traceparent is not None:  # tracing is off: the client's, untouched
            context = _client_context(call.traceparent, call.tracestate)
        else:
            context = None
        request = UpstreamRequest(call.endpoint, body, call.stream, call.id, raw, context)
        outcome = await self._send(call, target, request)
        if span is not None:
            streams = isinstance(outcome, UpstreamReply) and outcome.events is not None
            span.done(call.attempts[-1], streams)
        return outcome

    async def _send(
        self, call: Call, target: Target, request: UpstreamRequest
    ) -> UpstreamReply | UpstreamError:
        d = target.deployment
        provider = target.sender(call.endpoint)
        assert provider is not None  # routing chose only deployments that take the call
        starts = call.protocol.starts_answer
        started = time.perf_counter()
        remaining = call.remaining_s()
        try:
            if remaining < d.timeouts.total_s:
                async with asyncio.timeout(remaining):
                    reply = await provider.send(request)
                    if reply.events is not None:
                        await await_first_token(reply, d.timeouts, d.name, started, starts)
            else:  # the upstream's own total timeout ends the call first: no timer needed
                reply = await provider.send(request)
                if reply.events is not None:
                    await await_first_token(reply, d.timeouts, d.name, started, starts)
        except UpstreamError as exc:
            return _failed(call, d.name, exc, started)
        except TimeoutError:
            late = UpstreamTimeout(f"deployment {d.name} did not answer within the deadline")
            return _failed(call, d.name, late, started)
        elapsed = time.perf_counter() - started
        call.upstream_s += elapsed
        call.attempts.append(Attempt(d.name, None, elapsed, started=started))
        # For a stream this is the time to its first token; a break later makes it the whole.
        self.latency.observe(d.name, elapsed)
        call.deployment = d.name
        call.region = d.region
        return reply

    def broke(self, call: Call, target: Target, error: KeelError) -> None:
        """A stream that had started broke: its attempt says so, and unless it merely went
        another way than the answer it was to continue, the deployment failed."""
        if not isinstance(error, StreamDiverged):
            target.breaker.failure()
        for attempt in reversed(call.attempts):
            if attempt.deployment == target.name:
                attempt.error = error.code
                # The attempt lasted until the break, not only until its first token.
                attempt.duration_s = time.perf_counter() - attempt.started
                break

    async def resume(
        self, call: Call, broken: Target, delivered: str, route: Sequence[Target]
    ) -> tuple[Target, UpstreamReply, Splice] | None:
        """Another deployment to carry on a stream that broke after ``delivered`` was sent:
        the route's next ones that have not failed this call, each tried once."""
        if not self._may_resume(call):
            return None
        failed = {a.deployment for a in call.attempts if a.error is not None}
        for target in route:
            if target is broken or target.name in failed or target.full():
                continue
            if call.remaining_s() <= 0 or not target.breaker.allow():
                continue
            target.acquire()
            base = _upstream_body(call, target.deployment)
            body, splice = continuation(call, target.deployment, base, delivered)
            try:
                outcome = await self._try(call, target, body)
            except BaseException:  # the client left while keel looked for a way on
                target.release()
                raise
            if isinstance(outcome, UpstreamReply):
                target.breaker.success()
                return target, outcome, splice
            target.release()
            if outcome.kind not in CLIENT_KINDS:
                target.breaker.failure()
        return None


def _onward(events: list[Event], splice: Splice | None, progress: Progress) -> list[Event]:
    """Events as they go on: spliced past what a resumed stream already sent, and seen."""
    if splice is not None:
        events = splice.feed(events)
    progress.see(events)
    return events


async def _abandon(target: Target, reply: UpstreamReply) -> None:
    """A stream closed before it was read: the slot back, the upstream closed."""
    target.release()
    await close_events(reply.events)


def retry_wait(
    error: UpstreamError, attempt: int, deployment: DeploymentConfig, remaining_s: float
) -> float | None:
    """Seconds to wait before trying the same deployment again, or None to move on.

    A Retry-After is honoured when it fits the deadline, else keel moves on at once; otherwise
    exponential backoff with full jitter, ``retries`` times at most."""
    if attempt >= deployment.retries:
        return None
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        return retry_after if retry_after < remaining_s else None
    cap = min(deployment.backoff_max_s, deployment.backoff_s * 2**attempt)
    wait = random.uniform(0, cap)
    return wait if wait < remaining_s else None


def _outcome(call: Call, model: str, tally: _Tally) -> Exception:
    """Why no deployment of ``model`` answered, told the client's way."""
    if call.remaining_s() <= 0 or tally.out_of_time:
        return UpstreamTimeout(
            f"No deployment of {model!r} answered within the request's deadline. "
            "Retry later, or allow more time (x-keel-timeout)."
        )
    if tally.last_error is not None:
        return tally.last_error
    if tally.cooling:
        return Overloaded(
            f"Every deployment of {model!r} is failing and resting (circuit open). "
            "Retry after the time in retry-after.",
            retry_after_s=max(1, math.ceil(min(tally.cooling))),
            code="circuit_open",
        )
    return Overloaded(
        f"All {len(tally.busy)} deployments of {model!r} are at their concurrency limit, and "
        "their queues are full or the wait for a slot ran out. Retry after a moment.",
    )


def _client_context(traceparent: str, tracestate: str | None) -> dict[str, str]:
    if tracestate is None:
        return {"traceparent": traceparent}
    return {"traceparent": traceparent, "tracestate": tracestate}


def _failed(call: Call, name: str, error: UpstreamError, started: float) -> UpstreamError:
    elapsed = time.perf_counter() - started
    call.upstream_s += elapsed
    status = error.upstream_status if isinstance(error, UpstreamStatus) else None
    code = error.kind if status is not None else error.code
    call.attempts.append(Attempt(name, code, elapsed, status))
    return error


# The endpoints whose streams report usage only when asked (stream_options.include_usage);
# others (Anthropic's messages) report it always, and get only ``model`` changed.
_USAGE_CHUNK = frozenset({"chat", "completions"})


def _upstream_body(call: Call, deployment: DeploymentConfig) -> dict[str, Any]:
    body = dict(call.body)
    body["model"] = deployment.model
    if call.stream and call.endpoint in _USAGE_CHUNK:
        # keel always asks for the usage chunk so it can meter the stream; the edge strips it
        # from the client's stream when the client did not ask for it.
        options = body.get("stream_options")
        body["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    return body

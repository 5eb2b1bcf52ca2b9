"""Shadow traffic: a copy of some of a model's requests goes to another deployment.

Which requests are copied is decided by hashing the request id, so a retried request id is
copied or not alike. The copy leaves in the background once the real call has its upstream
answer, as a plain (non-streaming) request, and the client never waits for it: a shadow
deployment that also serves real traffic gets a connection pool of its own here, and at most its
``max_concurrency`` copies are in flight (a copy beyond is dropped and counted in
``keel_shadow_dropped_total``). A copy runs through a pipeline of the same meter and account
stages as every call, its own deployment for invoker: its outcome is recorded as a usage row
(and audit record) of kind ``shadow`` with the real request's id; the answer is discarded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

from keel.answer import Answer, Event
from keel.call import Attempt, Call
from keel.config.schema import DeploymentConfig, KeelConfig
from keel.errors import UpstreamError, UpstreamTimeout
from keel.monitor.metrics import Metrics
from keel.pipeline import Pipeline, Stage
from keel.providers import build_provider
from keel.providers.base import Provider, UpstreamRequest
from keel.routing.split import BUCKETS, bucket

__all__ = ["Shadow", "Shadows"]

log = logging.getLogger("keel.shadow")

_STREAM_FIELDS = ("stream", "stream_options")


class Lane:
    """One shadow deployment: its adapter, the copies in flight to it, and the pipeline they
    run through."""

    def __init__(
        self,
        deployment: DeploymentConfig,
        provider: Provider,
        owned: bool,
        stages: Sequence[Stage],
    ) -> None:
        self.deployment = deployment
        self.provider = provider
        self.owned = owned  # built for shadows alone, so started and closed here
        self.in_flight = 0
        self.pipeline = Pipeline(stages, self.invoke)

    async def invoke(self, twin: Call) -> Answer:
        """Send the copy as a plain request: its answer, or its failure raised."""
        d = self.deployment
        request = UpstreamRequest(twin.endpoint, twin.body, False, twin.id)
        started = time.perf_counter()
        error: str | None = None
        try:
            async with asyncio.timeout(d.timeouts.total_s):
                reply = await self.provider.send(request)
        except UpstreamError as exc:
            error = exc.code
            raise
        except TimeoutError:
            error = UpstreamTimeout.code
            raise UpstreamTimeout(f"shadow deployment {d.name} did not answer in time") from None
        finally:
            self.in_flight -= 1
            twin.upstream_s = time.perf_counter() - started
            twin.attempts.append(Attempt(d.name, error, twin.upstream_s))
            twin.deployment, twin.region = d.name, d.region
            if twin.copy_of is not None:  # its id as recorded: a taken id is replaced at commit
                twin.id = twin.copy_of.id
        return Answer(body=reply.answer or Event(reply.body))


class Shadow:
    """One model's shadow: ``copy(call)`` after the real call has its upstream answer."""

    def __init__(self, percent: float, lane: Lane, shadows: Shadows) -> None:
        self.threshold = round(percent * BUCKETS / 100)
        self.lane = lane
        self.shadows = shadows

    def copy(self, call: Call) -> None:
        lane = self.lane
        if bucket("shadow", call.id) >= self.threshold:
            return
        if call.endpoint not in lane.provider.endpoints:
            return  # e.g. a chat model shadowed to an embeddings deployment: nothing to copy
        if (
            call.data_class is not None
            and lane.deployment.region not in self.shadows.regions_of[call.data_class]
        ):
            return  # the copy would take the data where its class may not go
        if lane.in_flight >= lane.deployment.max_concurrency:
            self.shadows.metrics.shadow_dropped.labels(lane.deployment.name).inc()
            return
        body = {k: v for k, v in call.body.items() if k not in _STREAM_FIELDS}
        body["model"] = lane.deployment.model
        twin = Call(id=call.id, endpoint=call.endpoint, body=body, model=call.model,
                    stream=False, principal=call.principal, kind="shadow",
                    copy_of=call, protocol=call.protocol)  # fmt: skip
        lane.in_flight += 1
        # Nobody waits for a shadow's record; a failed commit is logged by the ledger.
        self.shadows.launch(lane.pipeline.run(twin))


class Shadows:
    """The shadows of every model; ``get(model)`` is one dict lookup, None without one."""

    def __init__(
        self,
        config: KeelConfig,
        providers: dict[str, Provider],
        stages: Sequence[Stage],
        metrics: Metrics,
        regions_of: dict[str, frozenset[str]],
    ) -> None:
        """``stages``: what a copy runs through (the meter and the account)."""
        self.metrics = metrics
        self.regions_of = regions_of  # the router's: where each data class may go
        serving = {name for spec in config.models.values() for name in spec.deployments}
        self.lanes: dict[str, Lane] = {}
        self._shadows: dict[str, Shadow] = {}
        for model, spec in config.models.items():
            if spec.shadow is None:
                continue
            name = spec.shadow.deployment
            if name not in self.lanes:
                d = config.deployment(name)
                # Real traffic to it keeps its own pool: copies must never queue ahead of it.
                own = name in serving
                provider = build_provider(d) if own else providers[name]
                self.lanes[name] = Lane(d, provider, own, stages)
            self._shadows[model] = Shadow(spec.shadow.percent, self.lanes[name], self)
        self.get = self._shadows.get
        self._tasks: set[asyncio.Task[Any]] = set()

    def copy(self, call: Call) -> None:
        """Copy the call to its model's shadow, if it has one and the call is picked."""
        shadow = self._shadows.get(call.model)
        if shadow is not None:
            shadow.copy(call)

    async def start(self) -> None:
        await asyncio.gather(*(lane.provider.start() for lane in self.lanes.values() if lane.owned))

    async def close(self) -> None:
        """Stop copies still in flight (their answers would be discarded anyway)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        owned = [lane.provider.close() for lane in self.lanes.values() if lane.owned]
        await asyncio.gather(*owned)

    def launch(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _logged(work: Coroutine[Any, Any, Any]) -> None:
    try:
        await work
    except Exception:
        log.exception("a shadow copy failed inside keel")

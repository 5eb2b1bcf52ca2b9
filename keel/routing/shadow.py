"""Shadow traffic: a copy of some of a model's requests goes to another deployment.

Which requests are copied is decided by hashing the request id, so a retried request id is
copied or not alike. The copy leaves in the background once the real call has its upstream
answer, as a plain (non-streaming) request, and the client never waits for it: a shadow
deployment that also serves real traffic gets a connection pool of its own here, and at most its
``max_concurrency`` copies are in flight (a copy beyond is dropped and counted in
``keel_shadow_dropped_total``). The outcome is recorded as a usage row of kind ``shadow`` with
the real request's id; the answer itself is discarded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import orjson

from keel.audit.record import call_record
from keel.call import Attempt, Call
from keel.config.schema import DeploymentConfig, KeelConfig
from keel.errors import UpstreamError, UpstreamTimeout
from keel.finops.cost import cost_usd
from keel.monitor.metrics import Metrics
from keel.pipeline.account import usage_row
from keel.pipeline.meter import usage_from_answer
from keel.providers import build_provider
from keel.providers.base import Provider, UpstreamRequest
from keel.routing.split import BUCKETS, bucket
from keel.store.ledger import Ledger

__all__ = ["Shadow", "Shadows"]

log = logging.getLogger("keel.shadow")

_STREAM_FIELDS = ("stream", "stream_options")


class Lane:
    """One shadow deployment: its adapter and the copies in flight to it."""

    def __init__(self, deployment: DeploymentConfig, provider: Provider, owned: bool) -> None:
        self.deployment = deployment
        self.provider = provider
        self.owned = owned  # built for shadows alone, so started and closed here
        self.in_flight = 0


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
                    stream=False, principal=call.principal)  # fmt: skip
        lane.in_flight += 1
        self.shadows.launch(self._send(twin, call))

    async def _send(self, twin: Call, call: Call) -> None:
        lane = self.lane
        d = lane.deployment
        request = UpstreamRequest(twin.endpoint, twin.body, False, twin.id)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(d.timeouts.total_s):
                reply = await lane.provider.send(request)
            twin.usage = usage_from_answer(twin, orjson.loads(reply.body))
        except UpstreamError as exc:
            twin.status, twin.error = exc.status, exc.code
        except TimeoutError:
            twin.status, twin.error = 504, UpstreamTimeout.code
        except orjson.JSONDecodeError:
            twin.status, twin.error = 502, UpstreamError.code
        finally:
            lane.in_flight -= 1
        twin.upstream_s = time.perf_counter() - started
        twin.attempts.append(Attempt(d.name, twin.error, twin.upstream_s))
        twin.deployment, twin.region, twin.finished = d.name, d.region, time.perf_counter()
        if twin.status < 400:
            twin.cost_usd = cost_usd(d.prices, twin.usage)
        # The call's id as recorded, if its record is in: a taken id is replaced at commit.
        twin.id = call.id
        # Not awaited: nobody waits for a shadow's record; a failed commit is logged by the ledger.
        ledger = self.shadows.ledger
        ledger.submit({**usage_row(twin), "kind": "shadow"},
                      call_record(twin, "shadow") if ledger.audited else None)  # fmt: skip


class Shadows:
    """The shadows of every model; ``get(model)`` is one dict lookup, None without one."""

    def __init__(
        self,
        config: KeelConfig,
        providers: dict[str, Provider],
        ledger: Ledger,
        metrics: Metrics,
        regions_of: dict[str, frozenset[str]],
    ) -> None:
        self.ledger = ledger
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
                self.lanes[name] = Lane(d, build_provider(d) if own else providers[name], own)
            self._shadows[model] = Shadow(spec.shadow.percent, self.lanes[name], self)
        self.get = self._shadows.get
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await asyncio.gather(*(lane.provider.start() for lane in self.lanes.values() if lane.owned))

    async def close(self) -> None:
        """Stop copies still in flight (their answers would be discarded anyway)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        owned = [lane.provider.close() for lane in self.lanes.values() if lane.owned]
        await asyncio.gather(*owned)

    def launch(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _logged(work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except Exception:
        log.exception("a shadow copy failed inside keel")

"""The active prober: its count of probe results, and what it does to a real breaker."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field

import pytest

from keel.config.schema import BreakerConfig, DeploymentConfig, HealthConfig
from keel.providers.base import Provider, UpstreamReply, UpstreamRequest
from keel.routing.breaker import Breaker, BreakerState
from keel.routing.health import Prober, Watch


def watch(**settings: object) -> Watch:
    return Watch(HealthConfig.model_validate({"probe": True, **settings}))


def test_one_failed_probe_is_not_an_outage() -> None:
    w = watch(unhealthy_after=2)
    assert w.observe("HTTP 503") is None and w.up
    assert w.observe(None) is None  # the run of failures is broken
    assert w.observe("HTTP 503") is None and w.up
    assert w.observe("cannot connect") == "down"
    assert not w.up and w.describe() == {"probe": "down", "reason": "cannot connect"}
    assert w.observe("HTTP 500") is None  # already down: no second flip
    assert w.describe()["reason"] == "HTTP 500"


def test_healthy_after_counts_good_probes_in_a_row() -> None:
    w = watch(unhealthy_after=1, healthy_after=2)
    assert w.observe("HTTP 503") == "down"
    assert w.observe(None) is None
    assert w.observe("HTTP 503") is None
    assert w.observe(None) is None and not w.up
    assert w.observe(None) == "up"
    assert w.describe() == {"probe": "up"}


def test_a_failed_probe_is_shown_until_the_next_good_one() -> None:
    w = watch(unhealthy_after=3)
    w.observe("HTTP 502")
    assert w.describe() == {"probe": "up", "reason": "HTTP 502"}
    w.observe(None)
    assert w.describe() == {"probe": "up"}


class Scripted(Provider):
    """An upstream whose probe answers come from a script: a reason, None, or a callable."""

    def __init__(self, deployment: DeploymentConfig, script: list[object]) -> None:
        super().__init__(deployment)
        self.script = script
        self.probes = 0

    async def probe(self) -> str | None:
        self.probes += 1
        step = self.script[min(self.probes, len(self.script)) - 1]
        if callable(step):
            result: str | None = await step()
            return result
        return step if isinstance(step, str) else None

    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        raise AssertionError("the prober never sends a request")


@dataclass
class Target:
    """The three things the prober reads, as the router's Target has them."""

    deployment: DeploymentConfig
    provider: Provider
    breaker: Breaker = field(default_factory=lambda: Breaker(BreakerConfig()))


def target(name: str, script: list[object], **health: object) -> Target:
    settings = {"probe": True, "interval_s": 0.01, "timeout_s": 0.05, **health}
    d = DeploymentConfig.model_validate(
        {"name": name, "provider": "sim", "model": "m", "region": "r", "health": settings}
    )
    return Target(d, Scripted(d, script))


async def test_down_holds_the_breaker_and_up_closes_it(caplog: pytest.LogCaptureFixture) -> None:
    t = target("gpu1", ["HTTP 503", "HTTP 503", None], unhealthy_after=2)
    prober = Prober([t])
    with caplog.at_level(logging.WARNING, logger="keel.health"):
        assert await prober.check("gpu1") is None
        assert t.breaker.allow()
        assert await prober.check("gpu1") == "down"
        assert t.breaker.held and not t.breaker.allow(1e9)  # no half-open request either
        assert await prober.check("gpu1") == "up"
    assert t.breaker.state is BreakerState.CLOSED and t.breaker.allow()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "gpu1 is down" in lines[0] and "HTTP 503" in lines[0]
    assert "gpu1 is up again" in lines[1]


async def test_a_probe_that_hangs_or_raises_is_a_failed_probe() -> None:
    async def hang() -> str | None:
        await asyncio.Event().wait()
        return None

    async def boom() -> str | None:
        raise RuntimeError("adapter bug")

    t = target("gpu1", [hang, boom], unhealthy_after=1)
    prober = Prober([t])
    assert await prober.check("gpu1") == "down"
    assert prober.watches["gpu1"].reason == "no answer within 0.05s"
    await prober.check("gpu1")
    assert prober.watches["gpu1"].reason == "probe failed: RuntimeError: adapter bug"


async def test_only_deployments_with_probe_on_are_watched() -> None:
    on, off = target("on", [None]), target("off", [None], probe=False)
    prober = Prober([on, off])
    assert list(prober.watches) == ["on"]
    prober.start()
    await prober.close()
    assert probes(off) == 0


async def test_started_it_probes_each_deployment_until_closed() -> None:
    targets = [target(name, ["HTTP 500"], unhealthy_after=3) for name in ("a", "b")]
    downs = [asyncio.Event() for _ in targets]
    for t, down in zip(targets, downs, strict=True):
        t.breaker.on_change = lambda up, down=down: None if up else down.set()
    prober = Prober(targets)
    prober.start()
    await asyncio.wait_for(asyncio.gather(*(down.wait() for down in downs)), timeout=10)
    await prober.close()
    counts = [probes(t) for t in targets]
    assert min(counts) >= 3
    await asyncio.sleep(0.05)
    assert [probes(t) for t in targets] == counts  # closed: no more probes


def probes(t: Target) -> int:
    assert isinstance(t.provider, Scripted)
    return t.provider.probes


def test_first_probes_are_spread_over_one_interval() -> None:
    targets = [target(f"d{i}", [None], interval_s=5) for i in range(20)]
    prober = Prober(targets, random.Random(7))
    waits: list[float] = [prober.first_wait_s(f"d{i}") for i in range(20)]
    assert all(0 <= w <= 5 for w in waits)
    assert len(set(waits)) == 20 and max(waits) - min(waits) > 2.5

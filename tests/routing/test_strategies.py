"""Each strategy's order, with a seeded random source and hand-set load and latency."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from keel.config.schema import BreakerConfig, DeploymentConfig
from keel.providers.sim import SimProvider
from keel.routing import strategies
from keel.routing.breaker import Breaker
from keel.routing.router import Target
from keel.routing.strategies import LatencyWatch, order


def target(name: str, price: float = 0.0, in_flight: int = 0) -> Target:
    spec = {"name": name, "provider": "sim", "model": "m", "region": "r"}
    d = DeploymentConfig.model_validate({**spec, "price": {"input_per_mtok": price}})
    return Target(d, SimProvider(d), Breaker(BreakerConfig()), in_flight)


def names(targets: list[Target]) -> list[str]:
    return [t.deployment.name for t in targets]


A, B, C = target("a", price=3, in_flight=5), target("b", price=1, in_flight=0), target("c", 2, 2)


def test_priority_keeps_the_config_order() -> None:
    assert names(order("priority", [A, B, C], {}, LatencyWatch(), random.Random(1))) == [
        "a",
        "b",
        "c",
    ]


def test_least_busy_and_least_cost() -> None:
    assert names(order("least-busy", [A, B, C], {}, LatencyWatch(), random.Random(1))) == [
        "b",
        "c",
        "a",
    ]
    assert names(order("least-cost", [A, B, C], {}, LatencyWatch(), random.Random(1))) == [
        "b",
        "c",
        "a",
    ]


def test_weighted_splits_by_weight_and_keeps_everyone_for_failover() -> None:
    rng = random.Random(7)
    firsts = Counter(
        names(order("weighted", [A, B], {"a": 9, "b": 1}, LatencyWatch(), rng))[0]
        for _ in range(2000)
    )
    assert 0.85 < firsts["a"] / 2000 < 0.95
    assert sorted(names(order("weighted", [A, B], {"a": 9}, LatencyWatch(), rng))) == ["a", "b"]


def test_least_latency_measures_the_unknown_then_prefers_the_fast(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(strategies, "EXPLORE", 0.0)
    watch = LatencyWatch()
    watch.observe("a", 0.5)
    assert names(order("least-latency", [A, B], {}, watch, random.Random(1)))[0] == "b"
    watch.observe("b", 0.9)
    assert names(order("least-latency", [A, B], {}, watch, random.Random(1))) == ["a", "b"]


def test_least_latency_explores_so_a_recovered_deployment_is_seen_again() -> None:
    watch = LatencyWatch()
    watch.observe("a", 0.1)
    watch.observe("b", 5.0)  # b was slow once
    rng = random.Random(3)
    firsts = Counter(names(order("least-latency", [A, B], {}, watch, rng))[0] for _ in range(1000))
    assert 0.05 < firsts["b"] / 1000 < 0.2


def test_the_moving_average_follows_recovery() -> None:
    watch = LatencyWatch()
    watch.observe("b", 5.0)
    for _ in range(30):
        watch.observe("b", 0.05)
    assert watch.average["b"] < 0.1

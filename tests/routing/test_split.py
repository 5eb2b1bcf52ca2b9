"""Assignment: who goes to which deployment first, sticky, in the configured proportions."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest

from keel.call import Call, Principal
from keel.config.loader import parse_config
from keel.config.schema import KeelConfig
from keel.providers import build_provider
from keel.routing.router import Router
from keel.routing.split import BUCKETS, Split, bucket, config_state
from keel.store.rollouts import RolloutState

BASE = """\
regions: {r: {}}
deployments:
  - {name: v1, provider: sim, model: m, region: r}
  - {name: v2, provider: sim, model: m, region: r}
  - {name: v3, provider: sim, model: m, region: r}
models:
  plain: [v1, v2]
  chat:
    deployments: [v1, v2, v3]
    rollout: {mode: canary, canary: v3, percent: 20}
  split:
    deployments: [v1, v2, v3]
    rollout: {mode: ab, weights: {v1: 70, v2: 30, v3: 0}}
"""


@pytest.fixture
def router() -> Router:
    config = parse_config(BASE, "keel.yaml")
    return Router(config, {d.name: build_provider(d) for d in config.deployments})


def call(model: str = "chat", user: str | None = None, key: str = "key_a", team: str = "t") -> Call:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    if user is not None:
        body["user"] = user
    c = Call(id="req", endpoint="chat", body=body, model=model, stream=False)
    c.principal = Principal(team, key, ("*",))
    return c


def order(router: Router, c: Call) -> list[str]:
    split = router.rollouts.get(c.model)
    assert split is not None
    return [t.deployment.name for t in split.order(c, router.candidates(c))]


def first_of(router: Router, c: Call) -> str:
    return order(router, c)[0]


def test_a_model_without_a_rollout_has_no_split(router: Router) -> None:
    assert router.rollouts.get("plain") is None
    assert router.rollouts.get("no-such-model") is None


def test_the_same_user_always_gets_the_same_deployment(router: Router) -> None:
    config = parse_config(BASE, "keel.yaml")
    elsewhere = Router(config, {d.name: build_provider(d) for d in config.deployments})
    for i in range(300):
        user = f"user-{i}"
        picks = {first_of(router, call(user=user)) for _ in range(3)}
        picks.add(first_of(elsewhere, call(user=user, key=f"other-key-{i}")))  # another gateway
        assert len(picks) == 1, f"{user} moved between {picks}"


def test_a_20_percent_canary_gets_about_20_percent_of_10000_users(router: Router) -> None:
    firsts = Counter(first_of(router, call(user=f"u{i}")) for i in range(10_000))
    assert set(firsts) == {"v1", "v3"}  # the baseline is the first deployment not the canary
    assert 1850 <= firsts["v3"] <= 2150, firsts  # 20% +- 1.5 points (about 4 sigma)


def test_the_chosen_goes_first_and_the_rest_keep_their_order(router: Router) -> None:
    orders = {tuple(order(router, call(user=f"u{i}"))) for i in range(200)}
    assert orders == {("v3", "v1", "v2"), ("v1", "v2", "v3")}


def test_raising_the_percent_only_adds_callers_to_the_canary() -> None:
    spec = parse_config(BASE, "keel.yaml").models["chat"]
    state = config_state("chat", spec.rollout)  # type: ignore[arg-type]
    low = Split(dataclasses.replace(state, percent=10), spec, "config")
    high = Split(dataclasses.replace(state, percent=30), spec, "config")
    users = [f"u{i}" for i in range(2000)]
    in_low = {u for u in users if low.pick(u) == "v3"}
    in_high = {u for u in users if high.pick(u) == "v3"}
    assert in_low < in_high
    assert 2 * len(in_low) < len(in_high)


@pytest.mark.parametrize(("percent", "canary_share"), [(0, 0), (100, 10_000)])
def test_0_and_100_percent_are_exact(percent: float, canary_share: int) -> None:
    spec = parse_config(BASE, "keel.yaml").models["chat"]
    state = RolloutState("chat", "canary", "v3", percent)
    split = Split(state, spec, "store")
    assert sum(split.pick(f"u{i}") == "v3" for i in range(10_000)) == canary_share


def test_ab_weights_split_the_users(router: Router) -> None:
    firsts = Counter(first_of(router, call("split", user=f"u{i}")) for i in range(10_000))
    assert firsts["v3"] == 0  # weight 0: only ever a failover
    assert 6850 <= firsts["v1"] <= 7150 and 2850 <= firsts["v2"] <= 3150, firsts


def test_without_a_user_the_key_decides(router: Router) -> None:
    by_key = {first_of(router, call(key=f"key_{i}")) for i in range(200)}
    assert by_key == {"v1", "v3"}  # different keys spread over both sides
    for i in range(50):
        assert first_of(router, call(key=f"key_{i}")) == first_of(router, call(key=f"key_{i}"))


@pytest.mark.parametrize("sticky", ["key", "team"])
def test_sticky_by_key_or_team_ignores_the_user(sticky: str) -> None:
    text = BASE.replace("percent: 20}", f"percent: 50, sticky: {sticky}}}")
    config: KeelConfig = parse_config(text, "keel.yaml")
    router = Router(config, {d.name: build_provider(d) for d in config.deployments})
    picks = {first_of(router, call(user=f"u{i}", key="key_a", team="t")) for i in range(100)}
    assert len(picks) == 1
    spread = {first_of(router, call(key=f"key_{i}", team=f"team_{i}")) for i in range(100)}
    assert spread == {"v1", "v3"}


def test_buckets_are_stable_and_in_range() -> None:
    assert bucket("chat", "alice") == bucket("chat", "alice")
    assert bucket("chat", "alice") != bucket("other", "alice") or bucket("chat", "bob") != bucket(
        "other", "bob"
    )
    assert all(0 <= bucket("m", f"k{i}") < BUCKETS for i in range(1000))
    assert bucket("m", "\ud800") >= 0  # a lone surrogate from JSON must not crash routing

"""Live splits: the config's at start, the store's once changed, automatic rollback recorded.

Runs against a real SQLite store (and the PostgreSQL one where a test takes ``store_url``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keel.call import Attempt
from keel.config.loader import parse_config
from keel.config.schema import KeelConfig
from keel.routing.rollouts import AUTO_ACTOR, Rollouts
from keel.routing.split import Split
from keel.store import opened_store
from keel.store.base import Store
from keel.store.rollouts import RolloutChange, RolloutState
from tests.store.test_ledger import BrokenStore

CONFIG = """\
regions: {r: {}}
deployments:
  - {name: v1, provider: sim, model: m, region: r}
  - {name: v2, provider: sim, model: m, region: r}
models:
  plain: [v1, v2]
  chat:
    deployments: [v1, v2]
    rollout:
      mode: canary
      canary: v2
      percent: 50
      auto_rollback: {min_requests: 10, max_error_rate_increase: 0.1}
"""


@pytest.fixture
def config() -> KeelConfig:
    return parse_config(CONFIG, "keel.yaml")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened_store(f"sqlite:///{tmp_path / 'keel.db'}") as opened:
        yield opened


def live(rollouts: Rollouts, model: str = "chat") -> Split:
    split = rollouts.get(model)
    assert split is not None
    return split


async def cli_set(store: Store, before: RolloutState | None, **fields: object) -> RolloutState:
    after = RolloutState(**{"model": "chat", "mode": "canary", "canary": "v2", "percent": 50.0,
                            **fields})  # type: ignore[arg-type]  # fmt: skip
    stored = await store.change_rollout(
        RolloutChange(before, after, "set", "test", "", time.time())
    )
    assert stored is not None
    return stored


def feed(split: Split, deployment: str, ok: bool, times: int, seconds: float = 0.05) -> None:
    for _ in range(times):
        error = None if ok else "upstream_error"
        split.observe(deployment, [Attempt(deployment, error, seconds)])


async def test_the_config_split_holds_until_the_store_has_one(
    config: KeelConfig, store: Store
) -> None:
    rollouts = Rollouts(config, store)
    await rollouts.refresh()
    assert (live(rollouts).source, live(rollouts).state.percent) == ("config", 50.0)
    assert rollouts.get("plain") is None

    first = await cli_set(store, live(rollouts).state, percent=10.0)
    await rollouts.refresh()
    assert (live(rollouts).source, live(rollouts).state.version) == ("store", first.version)
    assert live(rollouts).state.percent == 10.0

    # A model the config gives no rollout gets one from the store too.
    plain = RolloutState("plain", "ab", None, 0.0, {"v1": 1, "v2": 3})
    await store.change_rollout(RolloutChange(None, plain, "set", "test", "", time.time()))
    await rollouts.refresh()
    assert live(rollouts, "plain").state.weights == {"v1": 1, "v2": 3}


async def test_a_stored_split_that_no_longer_fits_the_config_is_ignored(
    config: KeelConfig, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    rollouts = Rollouts(config, store)
    await cli_set(store, None, canary="v9")  # say, a deployment since removed from keel.yaml
    await rollouts.refresh()
    await rollouts.refresh()
    assert live(rollouts).source == "config"
    warnings = [r for r in caplog.records if "ignoring the stored rollout" in r.message]
    assert len(warnings) == 1 and "v9" in warnings[0].message  # said once, not every second


async def test_a_failing_canary_is_rolled_back_here_at_once_then_recorded(
    config: KeelConfig, store: Store
) -> None:
    rolled: list[str] = []
    rollouts = Rollouts(config, store, rolled.append)
    split = live(rollouts)
    feed(split, "v1", ok=True, times=10)
    feed(split, "v2", ok=False, times=9)
    assert live(rollouts) is split  # 9 canary attempts: not yet judged
    feed(split, "v2", ok=False, times=1)

    now = live(rollouts)
    assert (now.state.percent, now.state.status) == (0.0, "rolled_back")  # before any store I/O
    assert all(now.pick(f"u{i}") == "v1" for i in range(200))
    assert rolled == ["chat"]

    await rollouts.refresh()
    (stored,) = await store.rollouts()
    assert (stored.percent, stored.status, stored.version) == (0.0, "rolled_back", 1)
    (event,) = await store.rollout_events("chat")
    assert (event.action, event.actor) == ("auto_rollback", AUTO_ACTOR)
    assert "100.0% on the canary" in event.reason and "0.0% on the baseline" in event.reason
    assert event.before is not None and event.before["percent"] == 50.0
    assert live(rollouts).source == "store"


async def test_two_gateways_rolling_back_at_once_record_it_once(
    config: KeelConfig, store: Store
) -> None:
    gateways = [Rollouts(config, store), Rollouts(config, store)]
    for rollouts in gateways:
        feed(live(rollouts), "v1", ok=True, times=10)
        feed(live(rollouts), "v2", ok=False, times=10)
    await asyncio.gather(*(r.refresh() for r in gateways))
    await asyncio.gather(*(r.refresh() for r in gateways))
    assert len(await store.rollout_events("chat")) == 1
    for rollouts in gateways:
        assert (live(rollouts).state.version, live(rollouts).state.status) == (1, "rolled_back")


async def test_a_change_made_meanwhile_wins_over_a_pending_rollback(
    config: KeelConfig, store: Store
) -> None:
    rollouts = Rollouts(config, store)
    feed(live(rollouts), "v1", ok=True, times=10)
    feed(live(rollouts), "v2", ok=False, times=10)  # tripped, not yet written
    newer = await cli_set(store, None, canary="v2", percent=5.0)  # someone else, first
    await rollouts.refresh()
    assert live(rollouts).state == newer
    assert [e.action for e in await store.rollout_events("chat")] == ["set"]


async def test_no_rollback_when_disabled_or_not_active(config: KeelConfig) -> None:
    spec = config.models["chat"]
    off_text = CONFIG.replace("{min_requests: 10,", "{enabled: false, min_requests: 10,")
    off = parse_config(off_text, "keel.yaml").models["chat"]
    states = [
        (RolloutState("chat", "canary", "v2", 50.0), off),
        (RolloutState("chat", "canary", "v2", 100.0, status="promoted"), spec),
        (RolloutState("chat", "canary", "v2", 0.0, status="rolled_back"), spec),
    ]
    verdicts: list[str] = []
    for state, model_spec in states:
        split = Split(state, model_spec, "store", lambda _, reason: verdicts.append(reason))
        feed(split, "v1", ok=True, times=50)
        feed(split, "v2", ok=False, times=50)
        assert verdicts == [], state


async def test_a_store_that_fails_is_retried_and_never_stops_the_gateway(
    config: KeelConfig, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    broken = BrokenStore()
    rollouts = Rollouts(config, broken)
    await rollouts.start(0.01)  # must not raise
    try:
        for _ in range(500):
            if sum("rollout refresh failed" in r.message for r in caplog.records) >= 3:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the refresh loop did not keep retrying")
        rollouts.store = store  # the store comes back
        stored = await cli_set(store, None, percent=25.0)
        for _ in range(500):
            if live(rollouts).state == stored:
                break
            await asyncio.sleep(0.01)
        assert live(rollouts).state == stored
    finally:
        await rollouts.close()


async def test_a_predictive_models_split_is_never_taken_for_a_logical_models(
    tmp_path: Path, store: Store
) -> None:
    # A logical model named like a registered predictive one, and a name with the prefix.
    config = parse_config(CONFIG.replace("plain:", "fraud:"), "keel.yaml")
    for key in ("predictive:fraud", "predictive:chat"):
        state = RolloutState(key, "canary", "challenger", 50.0, {}, "input:account")
        await store.change_rollout(RolloutChange(None, state, "set", "test", "", time.time()))
    rollouts = Rollouts(config, store)
    await rollouts.refresh()
    assert rollouts.get("fraud") is None
    assert live(rollouts).source == "config"  # chat keeps its own split
    assert set(rollouts.splits()) == {"chat"}

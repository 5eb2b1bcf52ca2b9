"""The per-process cache of aliases and rollouts, on a real SQLite store and real ONNX models:
a move is seen at the next refresh, with its version loaded before it takes traffic; a version
that cannot be loaded keeps the previous one serving; a split routes bare names only; a shadow
copy is recorded and its agreement counted. Refreshes are called by hand: no timing."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from keel.call import Call, Principal
from keel.commands import model_rollout, models
from keel.config.schema import KeelConfig
from keel.monitor.metrics import Metrics
from keel.registry.artifacts import ArtifactStore, artifact_root
from keel.runtime import Prediction
from keel.serving.predictor import Predictor
from keel.store import opened_store
from keel.store.base import Store


@pytest.fixture
async def setup(tmp_path: Path, models_dir: Path) -> AsyncIterator[tuple[KeelConfig, Store]]:
    """Model ``m``: versions 1 and 2 (one artifact), champion 1, challenger 2."""
    config = KeelConfig.model_validate({"store": {"url": f"sqlite:///{tmp_path / 'keel.db'}"}})
    for _ in range(2):
        await models.register(config, "m", models_dir / "model.onnx")
    await models.alias(config, "m", "champion", 1)
    await models.alias(config, "m", "challenger", 2)
    async with opened_store(config.store.url) as store:
        yield config, store


def predictor(config: KeelConfig, store: Store, metrics: Metrics | None = None) -> Predictor:
    return Predictor(store, ArtifactStore(artifact_root(config)), config.predictive, metrics)


def prediction_call(key_id: str, model: str = "m", version: str | None = None) -> Call:
    body = {"model": model, "version": version}
    call = Call(id=f"req-{key_id}", endpoint="infer", body=body, model=model, stream=False)
    call.principal = Principal(team="t", key_id=key_id, models=("*",))
    call.prediction = Prediction({"X": np.zeros((1, 30), dtype=np.float32)})
    return call


async def test_a_moved_alias_is_seen_at_the_next_refresh_loaded_before_it_serves(
    setup: tuple[KeelConfig, Store],
) -> None:
    config, store = setup
    p = predictor(config, store)
    assert (await p.resolve("m")).version == 1
    await models.alias(config, "m", "champion", 2)
    assert (await p.resolve("m")).version == 1  # cached: no store read per prediction
    await p.cache.refresh()
    assert ("m", 2) in {(x.record.name, x.record.version) for x in p.loaded()}
    assert (await p.resolve("m")).version == 2
    p.close()


async def test_a_version_that_cannot_load_leaves_the_previous_one_serving(
    setup: tuple[KeelConfig, Store], models_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, store = setup
    damaged = await models.register(config, "m", models_dir / "mlflow-onnx")
    model = artifact_root(config) / damaged.sha256[:2] / damaged.sha256 / "model.onnx"
    model.write_bytes(model.read_bytes()[:-10])
    p = predictor(config, store)
    assert (await p.resolve("m")).version == 1
    await models.alias(config, "m", "champion", damaged.version)
    with caplog.at_level(logging.ERROR, "keel.serving"):
        await p.cache.refresh()
    assert (await p.resolve("m")).version == 1
    assert f"version {damaged.version} cannot be loaded" in caplog.text
    p.close()


async def test_a_canary_splits_bare_names_and_refs_bypass_it(
    setup: tuple[KeelConfig, Store],
) -> None:
    config, store = setup
    p = predictor(config, store)
    await p.resolve("m")
    await model_rollout.set_rollout(config, "m", canary="challenger", percent=30)
    await p.cache.refresh()
    keys = [f"key-{i}" for i in range(600)]
    first = {k: (await p.resolve("m", None, prediction_call(k))).version for k in keys}
    shares = Counter(first.values())
    assert 130 <= shares[2] <= 230, shares  # 30% of 600, give or take 3 sigma
    again = {k: (await p.resolve("m", None, prediction_call(k))).version for k in keys[:50]}
    assert again == {k: first[k] for k in keys[:50]}
    for k in keys[:50]:
        assert (await p.resolve("m@champion", None, prediction_call(k))).version == 1
        assert (await p.resolve("m", "1", prediction_call(k))).version == 1
    p.close()


async def test_a_version_registered_after_the_cache_filled_is_served_at_once(
    setup: tuple[KeelConfig, Store], models_dir: Path
) -> None:
    config, store = setup
    p = predictor(config, store)
    await p.resolve("m")
    added = await models.register(config, "m", models_dir / "model.onnx")
    assert (await p.resolve("m", str(added.version))).version == added.version
    p.close()


async def test_a_shadow_copy_is_recorded_apart_and_its_agreement_counted(
    setup: tuple[KeelConfig, Store],
) -> None:
    config, store = setup
    metrics = Metrics()
    recorded: list[Call] = []

    class Record:
        async def after(self, call: Call) -> None:
            recorded.append(call)

    artifacts = ArtifactStore(artifact_root(config))
    p = Predictor(store, artifacts, config.predictive, metrics, shadow_stages=[Record()])
    await p.shadows.start()
    await p.resolve("m")
    await model_rollout.set_rollout(config, "m", shadow="challenger")
    await p.cache.refresh()
    calls = [prediction_call(f"key-{i}") for i in range(3)]
    for call in calls:
        await p.invoke(call)
    await p.shadows.drain()
    await p.shadows.close()
    assert [(c.kind, c.deployment, c.id) for c in recorded] == [
        ("shadow", "m:2", c.id) for c in calls
    ]
    assert all(c.deployment == "m:1" for c in calls)  # the champion answered the clients
    assert sample(metrics, "keel_shadow_agreement_total", outcome="same", shadow="2") == 3
    p.close()


async def test_promote_and_rollback_are_one_alias_move_each(
    setup: tuple[KeelConfig, Store],
) -> None:
    config, store = setup
    with pytest.raises(ValueError, match="nothing to roll back to"):
        await model_rollout.rollback(config, "m")
    await model_rollout.set_rollout(config, "m", canary="challenger", percent=10)
    event, ended = await model_rollout.promote(config, "m", why="better recall")
    assert (event.before, event.after) == (1, 2) and ended is not None
    assert ended.status == "promoted"
    event2, rolled = await model_rollout.rollback(config, "m", why="alerts")
    assert event2 is not None and (event2.before, event2.after) == (2, 1)
    assert rolled is not None and (rolled.status, rolled.percent) == ("rolled_back", 0.0)
    # A split in progress is ended by a rollback; champion stays where it is.
    await model_rollout.set_rollout(config, "m", canary="2", percent=20)
    moved, stopped = await model_rollout.rollback(config, "m")
    assert moved is None and stopped is not None and stopped.status == "rolled_back"
    assert {a.alias: a.version for a in await store.model_aliases("m")}["champion"] == 1
    events = await store.rollout_events("predictive:m", 10)
    assert [e.action for e in events] == ["set", "promote", "rollback", "set", "rollback"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"canary": "nope", "percent": 5}, "--canary 'nope' names no live version of m"),
        ({"canary": "challenger"}, "--percent P"),
        ({"canary": "challenger", "percent": 101}, "between 0 and 100"),
        ({"ab": "champion=1,challenger"}, "write REF=W"),
        ({"ab": "champion=0"}, "all 0"),
        ({"shadow": "9"}, "--shadow '9' names no live version"),
        ({"canary": "2", "percent": 5, "sticky": "team"}, "key, user or input:NAME"),
        ({"off": True}, "no rollout to turn off"),
        ({"percent": 5}, "no canary to give 5%"),
        ({}, "say what to roll out"),
    ],
)
async def test_a_bad_rollout_is_refused_saying_what_to_give(
    setup: tuple[KeelConfig, Store], fields: dict[str, Any], message: str
) -> None:
    config, _ = setup
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        await model_rollout.set_rollout(config, "m", **fields)


async def test_show_names_the_live_split_and_its_versions(
    setup: tuple[KeelConfig, Store],
) -> None:
    config, _ = setup
    await model_rollout.set_rollout(
        config, "m", canary="challenger", percent=10, sticky="input:X", shadow="2"
    )
    info = await model_rollout.rollout_info(config, "m")
    assert info is not None
    assert info["versions"] == {"champion": 1, "challenger": 2, "2": 2}
    assert info["summary"].startswith("canary challenger at 10%")
    record, aliases = await models.show(config, "m@champion")
    assert orjson.loads(models.render_version(record, aliases, info))["rollout"] == info


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    total = 0.0
    for family in metrics.registry.collect():
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total

"""The embedding drift monitor: sampled prompts embedded off the loop and stored as vectors
(never text), and pinned models checked against their reference, per model and per arm."""

from __future__ import annotations

import asyncio
import secrets
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from keel.call import Call
from keel.config.monitors import EmbeddingDriftConfig
from keel.monitor.embedder import Encode, minilm_encoder
from keel.monitor.embeddings import EmbeddingDriftMonitor, as_matrix
from keel.monitor.findings import Finding
from keel.monitor.metrics import Metrics
from keel.store import opened_store
from keel.store.base import Store
from keel.store.embeddings import EmbeddingPin, PromptVector

SETTINGS = EmbeddingDriftConfig(share=1.0, per_minute=1000, min_vectors=50, window=200,
                                permutations=199, alpha=0.01)  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with opened_store(f"sqlite:///{tmp_path / 'k.db'}") as opened:
        yield opened


def call(text: str, model: str = "chat") -> Call:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    made = Call(id="r1", endpoint="chat", body=body, model=model, stream=False)
    made.deployment = "sim-eu"
    return made


async def until(condition: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def monitor(
    store: Store, findings: list[Finding] | None = None, **kw: object
) -> EmbeddingDriftMonitor:
    async def report(finding: Finding) -> None:
        if findings is not None:
            findings.append(finding)

    return EmbeddingDriftMonitor(
        kw.pop("settings", SETTINGS), {}, store, kw.pop("metrics", Metrics()),  # type: ignore[arg-type]
        lambda c: "canary", report, rng=np.random.default_rng(0), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_prompts_are_embedded_stored_and_their_text_let_go(store: Store) -> None:
    watched = monitor(store)
    texts = [f"Where is invoice {secrets.token_hex(4)} of my account?" for _ in range(12)]
    calls = [call(t) for t in texts]
    before = [sys.getrefcount(t) for t in texts]
    for c in calls:
        watched.read(c)
    await until(lambda: watched.embedder.embedded == 12)
    assert [sys.getrefcount(t) for t in texts] == before  # the monitor holds no text
    assert await watched.flush() == 12
    rows = await store.latest_prompt_vectors("chat", after=-1.0, limit=100)
    assert len(rows) == 12
    assert {(r.deployment, r.arm, len(r.vector)) for r in rows} == {("sim-eu", "canary", 768)}
    norms = np.linalg.norm(as_matrix(rows), axis=1)
    assert np.allclose(norms, 1.0, atol=2e-3)  # unit vectors, as float16
    assert {r.ts for r in rows} == {c.started_at for c in calls}
    await watched.close()


async def test_the_vectors_are_the_embedding_models_own(store: Store) -> None:
    watched = monitor(store)
    watched.read(call("How do I reset my password?"))
    await until(lambda: watched.embedder.embedded == 1)
    await watched.flush()
    (row,) = await store.latest_prompt_vectors("chat", after=-1.0, limit=1)
    direct = minilm_encoder()(["How do I reset my password?"])[0]
    assert np.allclose(as_matrix([row])[0], direct, atol=1e-3)
    await watched.close()


async def test_a_full_queue_drops_and_counts(store: Store) -> None:
    release = threading.Event()

    def slow_load() -> Encode:
        release.wait(60)
        return minilm_encoder()

    metrics = Metrics()
    settings = SETTINGS.model_copy(update={"queue": 2})
    watched = monitor(store, settings=settings, metrics=metrics, encoder=slow_load)
    for i in range(5):
        watched.read(call(f"question {i}"))
    dropped = metrics.registry.get_sample_value(
        "keel_monitor_dropped_total", {"monitor": "embeddings"}
    )
    assert dropped == 3
    release.set()
    await until(lambda: watched.embedder.embedded == 2)
    await watched.close()


async def test_a_missing_model_drops_instead_of_failing(store: Store) -> None:
    def missing() -> Encode:
        raise FileNotFoundError("model.onnx is not installed")

    metrics = Metrics()
    watched = monitor(store, metrics=metrics, encoder=missing)
    watched.read(call("first"))
    await until(lambda: watched.embedder.failed)
    watched.read(call("second"))
    labels = {"monitor": "embeddings"}
    assert metrics.registry.get_sample_value("keel_monitor_dropped_total", labels) == 1
    await watched.close()


def topics(seed: int, n: int, weights: list[float]) -> list[np.ndarray]:
    centres = np.random.default_rng(42).normal(size=(len(weights), 384))
    rng = np.random.default_rng(seed)
    rows = centres[rng.choice(len(weights), size=n, p=weights)] * 0.6
    rows = rows + rng.normal(size=(n, 384)) / np.sqrt(384) * 8
    return list(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def rows(vectors: list[np.ndarray], start: float, arm: str = "-") -> list[PromptVector]:
    return [
        PromptVector(start + i, "chat", "sim-eu", arm, v.astype("<f2").tobytes())
        for i, v in enumerate(vectors)
    ]


BASE, SHIFTED = [0.5, 0.5, 0.0], [0.2, 0.2, 0.6]


async def pinned(store: Store) -> None:
    await store.add_prompt_vectors(rows(topics(1, 300, BASE), 1000.0))
    await store.add_embedding_pin(EmbeddingPin("chat", 1000.0, 1299.0, 1300.0, "test"))


async def test_a_new_topic_is_drift_and_the_same_mixture_is_not(store: Store) -> None:
    await pinned(store)
    findings: list[Finding] = []
    metrics = Metrics()
    watched = monitor(store, findings, metrics=metrics)
    await store.add_prompt_vectors(rows(topics(2, 150, BASE), 2000.0))
    (same,) = await watched.check_all(now=3000.0)
    assert not same.drift and same.p_value >= 0.01
    assert (same.n_reference, same.n_current) == (200, 150)  # a sample of the reference
    await store.add_prompt_vectors(rows(topics(3, 200, SHIFTED), 4000.0))
    (moved,) = await watched.check_all(now=5000.0)
    assert moved.drift and moved.p_value == pytest.approx(1 / 200)
    score = metrics.registry.get_sample_value("keel_embedding_drift_score", {"model": "chat"})
    assert score == pytest.approx(moved.score)
    assert [(f.kind, f.subject, f.active) for f in findings] == [
        ("embedding_drift", "chat", False), ("embedding_drift", "chat", True),
    ]  # fmt: skip
    assert findings[1].threshold == pytest.approx(2.0) and "drifted" in findings[1].message
    assert [c.drift for c in await store.embedding_checks("chat")] == [True, False]


async def test_each_rollout_arm_is_checked_alone(store: Store) -> None:
    await pinned(store)
    findings: list[Finding] = []
    watched = monitor(store, findings)
    await store.add_prompt_vectors(rows(topics(4, 100, BASE), 2000.0, "baseline"))
    await store.add_prompt_vectors(rows(topics(5, 100, SHIFTED), 2100.0, "canary"))
    checks = await watched.check_all(now=3000.0)
    assert [(c.arm, c.drift) for c in checks] == [("", True), ("baseline", False), ("canary", True)]
    assert [f.subject for f in findings] == ["chat", "chat/baseline", "chat/canary"]


async def test_too_few_vectors_give_no_verdict(store: Store) -> None:
    await pinned(store)
    findings: list[Finding] = []
    watched = monitor(store, findings)
    await store.add_prompt_vectors(rows(topics(6, 49, SHIFTED), 2000.0))
    assert await watched.check_all(now=3000.0) == []
    assert findings == [] and await store.embedding_checks("chat") == []


async def test_the_tick_stores_vectors_and_checks_on_its_interval(store: Store) -> None:
    await pinned(store)
    watched = monitor(store)
    await store.add_prompt_vectors(rows(topics(7, 100, SHIFTED), 2000.0))
    await watched.tick(3000.0)
    await until(lambda: watched._checking is not None and watched._checking.done())
    assert len(await store.embedding_checks("chat")) == 1
    await watched.tick(3000.0 + SETTINGS.check_s / 2)  # not yet
    await watched.tick(3000.0 + SETTINGS.check_s)
    await until(lambda: watched._checking is not None and watched._checking.done())
    assert len(await store.embedding_checks("chat")) == 2
    await watched.close()


def test_the_gateway_runs_the_monitor_only_when_it_is_on(store: Store) -> None:
    from keel.config.finops import AlertsConfig
    from keel.config.schema import KeelConfig
    from keel.monitor.alerts import Alerter
    from keel.monitor.monitors import build_tap
    from keel.routing.rollouts import Rollouts
    from tests.monitor.test_alerts import Claims

    deployment = {"name": "d", "provider": "sim", "model": "m", "region": "r"}
    base = {"regions": {"r": {}}, "models": {"chat": ["d"]}, "deployments": [deployment]}
    on = KeelConfig.model_validate({**base, "monitors": {"embeddings": {"enabled": True}}})
    off = KeelConfig.model_validate(base)  # off by default
    metrics, alerter = Metrics(), Alerter(AlertsConfig(), store, Claims())
    tap = build_tap(on, store, metrics, Rollouts(on, store, metrics.rolled_back), alerter)
    assert tap is not None and tap.monitors[-1].name == "embeddings"
    tap = build_tap(off, store, metrics, Rollouts(off, store, metrics.rolled_back), alerter)
    assert tap is not None and "embeddings" not in [m.name for m in tap.monitors]

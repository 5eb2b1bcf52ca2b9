"""The prompt embedding family: vectors, pins and checks, the same tests on SQLite and
PostgreSQL."""

from __future__ import annotations

import numpy as np

from keel.store.base import Store
from keel.store.embeddings import EmbeddingCheck, EmbeddingPin, PromptVector


def vector(ts: float, model: str = "chat", arm: str = "-", seed: int = 0) -> PromptVector:
    values = np.random.default_rng(seed).normal(size=384).astype("<f2")
    return PromptVector(ts, model, "sim-eu", arm, values.tobytes())


def check(ts: float, model: str = "chat", arm: str = "", p: float = 0.5) -> EmbeddingCheck:
    return EmbeddingCheck(ts, model, arm, 1, 200, 150, 0.001, p, 0.3, 0.01, p < 0.01)


async def test_vectors_come_back_newest_first_bytes_intact_by_model_and_arm(store: Store) -> None:
    rows = [vector(float(t), arm="canary" if t % 2 else "baseline", seed=t) for t in range(10)]
    await store.add_prompt_vectors([*rows, vector(5.0, model="other")])
    latest = await store.latest_prompt_vectors("chat", after=2.0, limit=4)
    assert [v.ts for v in latest] == [9.0, 8.0, 7.0, 6.0]
    assert latest[0] == rows[9]  # every field, the 768 bytes exactly
    assert len(latest[0].vector) == 768
    canary = await store.latest_prompt_vectors("chat", after=-1.0, limit=100, arm="canary")
    assert [v.ts for v in canary] == [9.0, 7.0, 5.0, 3.0, 1.0]
    assert await store.latest_prompt_vectors("nobody", after=-1.0, limit=10) == []
    await store.add_prompt_vectors([])  # nothing to write is no error


async def test_a_sample_is_uniform_within_its_window_and_repeatable_by_seed(store: Store) -> None:
    await store.add_prompt_vectors([vector(float(t), seed=t) for t in range(100)])
    whole = await store.sample_prompt_vectors("chat", 10.0, 19.0, limit=50, seed=1)
    assert sorted(v.ts for v in whole) == [float(t) for t in range(10, 20)]  # ends included
    one = await store.sample_prompt_vectors("chat", 0.0, 99.0, limit=20, seed=7)
    again = await store.sample_prompt_vectors("chat", 0.0, 99.0, limit=20, seed=7)
    other = await store.sample_prompt_vectors("chat", 0.0, 99.0, limit=20, seed=8)
    assert len(one) == 20 and len({v.ts for v in one}) == 20
    assert one == again and one != other


async def test_the_latest_pin_of_each_model_is_in_force(store: Store) -> None:
    first = await store.add_embedding_pin(EmbeddingPin("chat", 0.0, 10.0, 11.0, "cli:a"))
    await store.add_embedding_pin(EmbeddingPin("other", 0.0, 5.0, 12.0, "cli:a"))
    second = await store.add_embedding_pin(EmbeddingPin("chat", 20.0, 30.0, 31.0, "cli:b"))
    assert second.seq > first.seq > 0
    pins = await store.embedding_pins()
    assert [(p.model, p.since, p.until, p.actor) for p in pins] == [
        ("chat", 20.0, 30.0, "cli:b"), ("other", 0.0, 5.0, "cli:a"),
    ]  # fmt: skip
    assert pins[0] == second


async def test_retention_keeps_the_pinned_window_and_recent_rows(store: Store) -> None:
    await store.add_prompt_vectors([vector(float(t), seed=t) for t in range(100)])
    await store.add_prompt_vectors([vector(float(t), model="other") for t in range(100)])
    await store.add_embedding_pin(EmbeddingPin("chat", 10.0, 19.0, 50.0, "cli:a"))
    await store.add_embedding_check(check(10.0))
    await store.add_embedding_check(check(90.0))
    assert await store.delete_prompt_vectors(before=80.0) == 70 + 80
    kept = await store.latest_prompt_vectors("chat", after=-1.0, limit=1000)
    assert sorted(v.ts for v in kept) == [float(t) for t in (*range(10, 20), *range(80, 100))]
    assert len(await store.latest_prompt_vectors("other", after=-1.0, limit=1000)) == 20
    assert [c.ts for c in await store.embedding_checks("chat")] == [90.0]


async def test_checks_come_back_newest_first_per_model(store: Store) -> None:
    for ts in (1.0, 2.0, 3.0):
        await store.add_embedding_check(check(ts))
    await store.add_embedding_check(check(4.0, arm="canary", p=0.001))
    await store.add_embedding_check(check(5.0, model="other"))
    checks = await store.embedding_checks("chat", limit=3)
    assert [(c.ts, c.arm) for c in checks] == [(4.0, "canary"), (3.0, ""), (2.0, "")]
    assert checks[0].drift and not checks[1].drift
    assert checks[0].seq > checks[1].seq > 0
    assert (checks[1].n_reference, checks[1].n_current, checks[1].pin_seq) == (200, 150, 1)
    assert (checks[1].mmd2, checks[1].p_value, checks[1].alpha) == (0.001, 0.5, 0.01)

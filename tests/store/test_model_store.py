"""The model registry's records, the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time

from keel.store import open_store
from keel.store.base import Store
from keel.store.models import AliasMove, ModelVersion

SIGNATURE = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 30]}], "outputs": []}


def version(name: str = "fraud", sha: str = "ab" * 32, **fields: object) -> ModelVersion:
    return ModelVersion(name, sha, "onnx", SIGNATURE, "ana", time.time(), **fields)  # type: ignore[arg-type]


def move(alias: str, to: int, why: str = "") -> AliasMove:
    return AliasMove("fraud", alias, to, "ana", why, time.time())


async def test_versions_are_numbered_per_name_and_keep_every_field(store: Store) -> None:
    first = await store.add_model_version(
        version(
            metrics={"auc": 0.97},
            tags={"team": "risk"},
            training={"rows": 3},
            description="first",
            code_version="c0ffee",
        )
    )
    second = await store.add_model_version(version())
    other = await store.add_model_version(version("churn"))
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert await store.model_version("fraud", 1) == first
    assert first.metrics == {"auc": 0.97} and first.training == {"rows": 3}
    assert first.signature == SIGNATURE and first.tags == {"team": "risk"}
    assert [(v.name, v.version) for v in await store.model_versions()] == [
        ("churn", 1),
        ("fraud", 1),
        ("fraud", 2),
    ]
    assert await store.model_version("fraud", 3) is None


async def test_writers_at_once_get_distinct_numbers(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(3)]
    await asyncio.gather(*(s.start() for s in stores))
    try:
        stored = await asyncio.gather(*(s.add_model_version(version()) for s in stores * 2))
        assert sorted(v.version for v in stored) == [1, 2, 3, 4, 5, 6]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_an_alias_move_records_before_after_who_and_why(store: Store) -> None:
    for _ in range(2):
        await store.add_model_version(version())
    first = await store.move_model_alias(move("champion", 1, "first release"))
    second = await store.move_model_alias(move("champion", 2, "better auc"))
    await store.move_model_alias(move("challenger", 1))
    assert (first.before, first.after, second.before, second.after) == (None, 1, 1, 2)
    assert [(a.alias, a.version) for a in await store.model_aliases("fraud")] == [
        ("challenger", 1),
        ("champion", 2),
    ]
    events = await store.model_alias_events("fraud")
    assert [(e.alias, e.before, e.after, e.who, e.why) for e in events] == [
        ("champion", None, 1, "ana", "first release"),
        ("champion", 1, 2, "ana", "better auc"),
        ("challenger", None, 1, "ana", ""),
    ]
    assert events == [first, second, events[2]]
    assert await store.model_alias_events("churn") == []


async def test_racing_moves_each_record_what_the_alias_really_named(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(3)]
    await asyncio.gather(*(s.start() for s in stores))
    try:
        for _ in range(3):
            await stores[0].add_model_version(version())
        await asyncio.gather(
            *(s.move_model_alias(move("champion", i + 1)) for i, s in enumerate(stores))
        )
        events = await stores[0].model_alias_events("fraud")
        # Each move starts from where the one before it left the alias: a chain, no lost move.
        assert [e.before for e in events] == [None, *(e.after for e in events[:-1])]
        (alias,) = await stores[0].model_aliases("fraud")
        assert alias.version == events[-1].after
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_archive_marks_a_version_once(store: Store) -> None:
    await store.add_model_version(version())
    assert await store.archive_model_version("fraud", 1, 100.0)
    assert await store.archive_model_version("fraud", 1, 200.0)  # still there: True, time kept
    assert not await store.archive_model_version("fraud", 9, 100.0)
    stored = await store.model_version("fraud", 1)
    assert stored is not None and stored.archived_at == 100.0

"""Rollout tables and the usage ``kind`` column, the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text

from keel.store import open_store, opened_store
from keel.store.base import Store
from keel.store.rollouts import RolloutChange, RolloutState
from keel.store.sql import SQLStore
from tests.store.conftest import fresh_pg_database, make_row

CANARY = RolloutState("chat", "canary", "v2", 10.0)


def change(
    before: RolloutState | None, after: RolloutState, action: str = "set", reason: str = ""
) -> RolloutChange:
    return RolloutChange(before, after, action, "cli:test@host", reason, time.time())


async def test_a_first_change_is_version_1_with_its_event(store: Store) -> None:
    assert await store.rollouts() == []
    assert await store.rollout_events() == []
    stored = await store.change_rollout(change(None, CANARY, reason="first try"))
    assert stored is not None and stored.version == 1 and stored.updated_at > 0
    assert await store.rollouts() == [stored]
    (event,) = await store.rollout_events("chat")
    assert (event.action, event.actor, event.reason, event.before) == (
        "set", "cli:test@host", "first try", None,
    )  # fmt: skip
    assert event.after == stored.as_dict()


async def test_each_change_grows_the_version_and_keeps_every_field(store: Store) -> None:
    first = await store.change_rollout(change(None, CANARY))
    assert first is not None
    ab = RolloutState("chat", "ab", None, 0.0, {"v1": 70.0, "v2": 30.0}, "team", "active")
    second = await store.change_rollout(change(first, ab))
    assert second is not None and second.version == 2
    (again,) = await store.rollouts()
    assert again == second and again.weights == {"v1": 70.0, "v2": 30.0} and again.sticky == "team"
    events = await store.rollout_events("chat")
    assert [e.after["version"] for e in events] == [1, 2]  # oldest first
    assert events[1].before == first.as_dict()


async def test_a_change_decided_on_an_old_version_is_refused_and_writes_nothing(
    store: Store,
) -> None:
    first = await store.change_rollout(change(None, CANARY))
    assert first is not None
    assert await store.change_rollout(change(first, CANARY)) is not None
    stale = RolloutState("chat", "canary", "v2", 0.0, status="rolled_back")
    assert await store.change_rollout(change(first, stale, "auto_rollback")) is None
    assert await store.change_rollout(change(None, stale)) is None  # "there was none": wrong too
    assert [e.action for e in await store.rollout_events("chat")] == ["set", "set"]
    assert (await store.rollouts())[0].version == 2


async def test_of_two_first_writers_at_once_one_wins(store_url: str) -> None:
    stores = [open_store(store_url), open_store(store_url)]
    await asyncio.gather(*(s.start() for s in stores))
    try:
        results = await asyncio.gather(
            *(s.change_rollout(change(None, CANARY)) for s in stores)
        )  # fmt: skip
        assert sorted(r is None for r in results) == [False, True]
        assert len(await stores[0].rollout_events("chat")) == 1
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_events_filter_by_model_and_keep_the_latest(store: Store) -> None:
    previous: dict[str, RolloutState | None] = {"chat": None, "embed": None}
    for i in range(6):
        model = "chat" if i % 2 == 0 else "embed"
        after = RolloutState(model, "canary", "v2", float(i))
        previous[model] = await store.change_rollout(change(previous[model], after))
    assert [e.after["percent"] for e in await store.rollout_events("chat", limit=2)] == [2.0, 4.0]
    assert [e.model for e in await store.rollout_events(limit=3)] == ["embed", "chat", "embed"]


async def test_call_attempts_are_a_models_real_calls_since_a_time(store: Store) -> None:
    now = time.time()
    older = '[{"deployment": "v1", "error": null, "ms": 5}]'
    newer = '[{"deployment": "v2", "error": "x", "ms": 1}]'
    await store.write_usage([
        make_row(model="chat", ts=now - 10, attempts=older),
        make_row(model="chat", ts=now - 5, attempts=newer),
        make_row(model="chat", ts=now - 5, kind="shadow"),
        make_row(model="other", ts=now - 5),
        make_row(model="chat", ts=now - 3600),
    ])  # fmt: skip
    calls = await store.call_attempts("chat", now - 60, 100)
    assert calls == [
        [{"deployment": "v2", "error": "x", "ms": 1}],  # newest first
        [{"deployment": "v1", "error": None, "ms": 5}],
    ]
    assert len(await store.call_attempts("chat", now - 60, 1)) == 1


async def test_usage_groups_by_kind(store: Store) -> None:
    await store.write_usage([make_row(), make_row(), make_row(kind="shadow", cost_usd=0.5)])
    groups = {g.key: g for g in await store.usage_by("kind", 0)}
    assert (groups["call"].requests, groups["shadow"].requests) == (2, 1)
    assert groups["shadow"].cost_usd == pytest.approx(0.5)


async def test_a_database_made_before_kind_gets_the_column_at_start(store_url: str) -> None:
    old = open_store(store_url)
    await old.start()
    await old.write_usage([make_row(request_id="old-a"), make_row(request_id="old-b")])
    assert isinstance(old, SQLStore)
    async with old.engine.begin() as conn:  # what an older keel made: no kind column
        await conn.execute(text("DROP INDEX ux_usage_request_id"))  # (nor unique ids)
        await conn.execute(text("ALTER TABLE usage DROP COLUMN kind"))
    await old.close()

    new = open_store(store_url)
    await new.start()
    try:
        await new.write_usage([make_row(request_id="new", kind="shadow")])
        groups = {g.key: g.requests for g in await new.usage_by("kind", 0)}
        assert groups == {"call": 2, "shadow": 1}  # the old rows read as calls
    finally:
        await new.close()
    again = open_store(store_url)
    await again.start()  # the column exists now: start must leave it be
    await again.close()


async def test_a_predictive_split_keeps_its_input_sticky_and_its_shadow(store: Store) -> None:
    sticky = "input:" + "a" * 128  # an input's name is up to 128 characters
    fields = {"sticky": sticky, "shadow": "challenger"}
    state = RolloutState("predictive:fraud", "canary", "challenger", 10.0, **fields)
    stored = await store.change_rollout(change(None, state))
    assert stored is not None
    (again,) = await store.rollouts()
    assert (again.sticky, again.shadow) == (sticky, "challenger")
    (event,) = await store.rollout_events("predictive:fraud")
    assert event.after["shadow"] == "challenger"


async def test_an_old_database_gets_the_shadow_column_and_a_wider_sticky() -> None:
    async with fresh_pg_database() as url:
        async with opened_store(url):
            pass
        conn = await asyncpg.connect(url)
        try:  # as a database made before predictive rollouts has it
            await conn.execute("ALTER TABLE rollouts DROP COLUMN shadow")
            await conn.execute("ALTER TABLE rollouts ALTER COLUMN sticky TYPE VARCHAR(16)")
        finally:
            await conn.close()
        async with opened_store(url) as store:
            weights = {"1": 1.0}
            state = RolloutState(
                "predictive:fraud", "ab", None, 0.0, weights, "input:account", shadow="2"
            )
            assert await store.change_rollout(change(None, state)) is not None
            (again,) = await store.rollouts()
            assert (again.sticky, again.shadow) == ("input:account", "2")

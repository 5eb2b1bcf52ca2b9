"""The SQL store, the same tests against SQLite and PostgreSQL (see conftest.py)."""

from __future__ import annotations

import time

import pytest

from keel.identity.keys import create_key, hash_key
from keel.store import open_store
from keel.store.keys import KeyRecord
from keel.store.sql import SQLStore
from tests.store.conftest import make_row


def key_record(key_id: str, team: str = "alpha", created_at: float = 1_000.0) -> KeyRecord:
    return KeyRecord(
        id=key_id,
        team=team,
        name=f"app of {team}",
        prefix="sk-keel-abcd",
        created_at=created_at,
        expires_at=created_at + 86_400,
        revoked_at=None,
    )


async def test_ping_and_empty_store(store: SQLStore) -> None:
    await store.ping()
    assert await store.count_usage() == 0
    assert await store.usage_by("team", 0) == []
    assert await store.list_keys() == []


async def test_usage_rows_round_trip_into_totals(store: SQLStore) -> None:
    now = time.time()
    rows = [
        make_row(team="alpha", prompt_tokens=10, completion_tokens=5, cost_usd=0.5,
                 latency_ms=100.0, overhead_ms=1.0, ts=now),
        make_row(team="alpha", status=502, error="upstream_unavailable", prompt_tokens=0,
                 completion_tokens=0, cost_usd=0.0, latency_ms=300.0, overhead_ms=3.0, ts=now),
        make_row(team="beta", status=200, prompt_tokens=7, completion_tokens=3, cost_usd=0.25,
                 latency_ms=50.0, overhead_ms=2.0, ts=now),
        make_row(team=None, key_id=None, status=401, error="invalid_api_key", prompt_tokens=0,
                 completion_tokens=0, cost_usd=0.0, latency_ms=2.0, overhead_ms=2.0, ts=now,
                 deployment=None, region=None, ttft_ms=None),
        make_row(team="alpha", prompt_tokens=1000, cost_usd=9.0, ts=now - 3600),  # too old
    ]  # fmt: skip
    await store.write_usage(rows)
    assert await store.count_usage() == 5

    groups = {g.key: g for g in await store.usage_by("team", now - 60)}
    assert set(groups) == {"alpha", "beta", None}
    alpha = groups["alpha"]
    assert (alpha.requests, alpha.errors) == (2, 1)
    assert (alpha.prompt_tokens, alpha.completion_tokens) == (10, 5)
    assert alpha.cost_usd == pytest.approx(0.5)
    assert alpha.avg_latency_ms == pytest.approx(200.0)
    assert alpha.avg_overhead_ms == pytest.approx(2.0)
    beta = groups["beta"]
    assert (beta.requests, beta.errors, beta.prompt_tokens, beta.completion_tokens) == (1, 0, 7, 3)
    assert beta.cost_usd == pytest.approx(0.25)
    assert groups[None].errors == 1

    everything = await store.usage_by("team", 0)
    assert sum(g.requests for g in everything) == 5
    assert sum(g.prompt_tokens for g in everything) == 1017


@pytest.mark.parametrize("column", ["model", "deployment", "region", "status", "key_id"])
async def test_usage_groups_by_each_column(store: SQLStore, column: str) -> None:
    await store.write_usage([
        make_row(**{column: "a" if column != "status" else 200}),
        make_row(**{column: "b" if column != "status" else 500}),
        make_row(**{column: "b" if column != "status" else 500}),
    ])  # fmt: skip
    groups = await store.usage_by(column, 0)
    assert sorted(g.requests for g in groups) == [1, 2]


async def test_usage_refuses_an_unknown_grouping(store: SQLStore) -> None:
    with pytest.raises(ValueError, match="cannot group by"):
        await store.usage_by("prompt_tokens; DROP TABLE usage", 0)


async def test_records_survive_reopening(store_url: str) -> None:
    first = open_store(store_url)
    await first.start()
    await first.write_usage([make_row(), make_row()])
    await first.add_key(key_record("key_a"), hash_key("sk-a"))
    await first.close()

    second = open_store(store_url)
    await second.start()  # start() on existing tables must not fail or wipe them
    try:
        assert await second.count_usage() == 2
        assert [k.id for k in await second.list_keys()] == ["key_a"]
    finally:
        await second.close()


async def test_key_add_find_list_revoke_round_trip(store: SQLStore) -> None:
    a = key_record("key_a", "alpha", created_at=1_000.0)
    b = key_record("key_b", "beta", created_at=2_000.0)
    c = key_record("key_c", "alpha", created_at=3_000.0)
    for record, key in ((a, "sk-a"), (b, "sk-b"), (c, "sk-c")):
        await store.add_key(record, hash_key(key))

    assert await store.find_key(hash_key("sk-b")) == b
    assert await store.find_key(hash_key("sk-nope")) is None
    assert await store.list_keys() == [a, b, c]  # oldest first
    assert await store.list_keys("alpha") == [a, c]
    assert await store.list_keys("nobody") == []

    assert await store.revoke_key("key_a", 5_000.0) is True
    found = await store.find_key(hash_key("sk-a"))
    assert found is not None and found.revoked_at == 5_000.0
    # Revoking again is not an error and keeps the first revocation time.
    assert await store.revoke_key("key_a", 6_000.0) is True
    found = await store.find_key(hash_key("sk-a"))
    assert found is not None and found.revoked_at == 5_000.0
    assert await store.revoke_key("key_unknown", 5_000.0) is False
    others = await store.find_key(hash_key("sk-c"))
    assert others is not None and others.revoked_at is None


async def test_created_key_is_stored_only_as_its_hash(store: SQLStore) -> None:
    key, record = await create_key(store, "alpha", "billing-app", expires_at=None)
    assert key.startswith("sk-keel-") and len(key) > 40
    assert key.startswith(record.prefix) and len(record.prefix) < len(key) // 2
    assert await store.find_key(hash_key(key)) == record
    assert await store.find_key(key) is None  # the plaintext is not a lookup index
    another, _ = await create_key(store, "alpha")
    assert another != key

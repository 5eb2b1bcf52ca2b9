"""Project tags on API keys, the same tests against SQLite and PostgreSQL (see conftest.py)."""

from __future__ import annotations

from sqlalchemy import text

from keel.identity.keys import create_key, hash_key
from keel.store import open_store
from keel.store.base import Store
from keel.store.keys import KeyRecord
from keel.store.sql import SQLStore


def tagged(key_id: str, team: str, project: str | None, created_at: float) -> KeyRecord:
    return KeyRecord(
        id=key_id, team=team, name="", prefix="sk-keel-abcd", created_at=created_at,
        expires_at=None, revoked_at=None, project=project,
    )  # fmt: skip


async def test_a_keys_project_is_stored_and_read_back(store: Store) -> None:
    key, record = await create_key(store, "alpha", "helpdesk", project="support-bot")
    assert record.project == "support-bot"
    found = await store.find_key(hash_key(key))
    assert found == record and found.project == "support-bot"
    untagged, plain = await create_key(store, "alpha")
    assert (await store.find_key(hash_key(untagged))) == plain and plain.project is None


async def test_keys_are_listed_by_project_and_team(store: Store) -> None:
    a = tagged("key_a", "alpha", "support-bot", 1_000.0)
    b = tagged("key_b", "beta", "support-bot", 2_000.0)
    c = tagged("key_c", "alpha", "cv-parser", 3_000.0)
    d = tagged("key_d", "alpha", None, 4_000.0)
    for record in (a, b, c, d):
        await store.add_key(record, hash_key("sk-" + record.id))
    assert await store.list_keys() == [a, b, c, d]
    assert await store.list_keys(project="support-bot") == [a, b]
    assert await store.list_keys("alpha", "support-bot") == [a]
    assert await store.list_keys("alpha") == [a, c, d]
    assert await store.list_keys(project="nothing") == []


async def test_a_database_made_before_projects_gets_the_column_at_start(store_url: str) -> None:
    old = open_store(store_url)
    await old.start()
    assert isinstance(old, SQLStore)
    await old.add_key(tagged("key_old", "alpha", None, 1_000.0), hash_key("sk-old"))
    async with old.engine.begin() as conn:  # what an older keel made: no project column
        await conn.execute(text("ALTER TABLE api_keys DROP COLUMN project"))
    await old.close()

    new = open_store(store_url)
    await new.start()
    try:
        found = await new.find_key(hash_key("sk-old"))
        assert found is not None and found.id == "key_old" and found.project is None
        _, made = await create_key(new, "alpha", project="cv-parser")
        assert await new.list_keys(project="cv-parser") == [made]
    finally:
        await new.close()

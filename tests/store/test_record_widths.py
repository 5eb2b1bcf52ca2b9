"""A token principal's full `sub` fits in the records, old databases are widened, and the
SQLite files are private to keel's user."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import asyncpg

from keel.store import opened_store
from keel.store.base import Store
from tests.store.conftest import fresh_pg_database, make_row


async def test_a_token_key_id_with_a_255_character_sub_is_recorded(store: Store) -> None:
    key_id = "jwt:" + "s" * 255  # OIDC allows a `sub` of 255 characters
    await store.write([make_row(key_id=key_id)])
    assert await store.count_usage() == 1


async def test_an_old_postgresql_database_gets_the_wider_key_id() -> None:
    async with fresh_pg_database() as url:
        async with opened_store(url):
            pass
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:  # as a database made before the widening has it
            await conn.execute("ALTER TABLE usage ALTER COLUMN key_id TYPE VARCHAR(64)")
        finally:
            await conn.close()
        async with opened_store(url) as store:
            await store.write([make_row(key_id="jwt:" + "s" * 255)])
            assert await store.count_usage() == 1


def _modes(folder: Path) -> dict[str, int]:
    return {f.name: stat.S_IMODE(f.stat().st_mode) for f in folder.glob("keel.db*")}


async def test_the_sqlite_database_and_its_wal_are_private(tmp_path: Path) -> None:
    async with opened_store(f"sqlite:///{tmp_path / 'keel.db'}") as store:
        await store.write([make_row()])
        modes = await asyncio.to_thread(_modes, tmp_path)
    assert {"keel.db", "keel.db-wal"} <= modes.keys()
    assert set(modes.values()) == {0o600}, modes

"""SQLite checkpoints run on their own thread, not inside a commit that requests wait on."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from keel.store import sqlite as sqlite_store
from keel.store.sqlite import SQLiteStore
from tests.store.conftest import make_row


async def test_wal_is_checkpointed_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_S", 0.05)
    db = tmp_path / "keel.db"
    store = SQLiteStore(f"sqlite:///{db}")
    await store.start()
    try:
        before = db.stat().st_size
        await store.write_usage([make_row() for _ in range(3000)])
        for _ in range(100):
            if db.stat().st_size > before:
                break
            await asyncio.sleep(0.05)
        assert db.stat().st_size > before, "the WAL was never copied into the database file"
    finally:
        await store.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM usage").fetchone()[0] == 3000


async def test_commits_do_not_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "keel.db"
    store = SQLiteStore(f"sqlite:///{db}")
    await store.start()
    try:
        assert store._writer is not None
        (pages,) = store._writer.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert pages == 0
    finally:
        await store.close()

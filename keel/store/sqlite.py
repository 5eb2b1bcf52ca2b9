"""The SQLite store (``sqlite:///path``): WAL mode, and a record writer on its own thread.

WAL with ``synchronous=NORMAL``: a committed transaction survives the process being killed
(it is in the OS's hands), which is the durability keel promises. Usage and audit records (and
stored Responses, which ride with their calls' records), the only writes on the hot path, skip
SQLAlchemy and aiosqlite: one hop to a dedicated thread and one ``executemany`` per table in
one transaction per group commit. A small batch (light load)
commits right on the event loop: the commit only writes to the OS's page cache, in tens of
microseconds, while a hop to a thread and back costs more than that in wake-ups alone. A large
batch (heavy load) goes to the thread, so the loop never stalls on a long transaction.

A rollout change (several statements in one transaction) runs start to finish on a thread of
its own, through a plain SQLite connection: through aiosqlite each statement would need the
event loop to send the next, while the loop may sit in an inline usage commit waiting for that
very transaction's lock, which would stall the gateway until ``busy_timeout``.

Checkpoints (copying the WAL into the database file, with an fsync) would otherwise run inside
whichever commit crosses SQLite's threshold and stall every request waiting on it; they run
instead every ``CHECKPOINT_S`` on a thread and connection of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from keel.store.alerts import AlertRecord
from keel.store.base import Rows
from keel.store.feedback import FeedbackRecord
from keel.store.keys import KeyRecord
from keel.store.rollouts import RolloutChange, RolloutState
from keel.store.sql import (
    SQLStore,
    apply_change,
    insert_alert,
    insert_feedback,
    insert_key,
    revoke_in,
)
from keel.store.tables import audit, audit_checkpoints, responses, usage

__all__ = ["SQLiteStore"]

log = logging.getLogger("keel.store")
T = TypeVar("T")
# Small pages: a one-row commit appends one page per b-tree it touches to the WAL, and the
# checkpoint's fsync (which stalls commits on this disk) grows with that volume.
_PRAGMAS = (
    "PRAGMA page_size=1024",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
)
CHECKPOINT_S = 1.0
INLINE_ROWS = 8  # batches up to this many requests commit on the loop


def _insert_statement(table: Table, skip: str | None = None) -> tuple[str, tuple[str, ...]]:
    columns = tuple(c.name for c in table.columns if c.name != skip)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", columns


# (usage and checkpoints number their rows themselves; an audit row's seq is its chain's)
_INSERTS = (
    _insert_statement(usage, skip="seq"),
    _insert_statement(audit),
    _insert_statement(audit_checkpoints, skip="id"),
    _insert_statement(responses),
)


class SQLiteStore(SQLStore):
    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("sqlite://").removeprefix("/") or ":memory:"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)
        super().__init__(_engine(self.path))
        self._sync = create_engine(f"sqlite:///{self.path}")
        event.listen(self._sync, "connect", _set_pragmas)
        self._writer: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="keel-sqlite-writer")
        self._checkpointer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        if self._writer is None:
            self._writer = await self._in_thread(self._connect)
            self._writer.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = asyncio.create_task(self._checkpoints(), name="keel-checkpoint")

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._writer is not None:
            await self._in_thread(self._writer.close)
            self._writer = None
        self._sync.dispose()
        await super().close()

    async def write(
        self, usage: Rows, audit: Rows = (), checkpoints: Rows = (), responses: Rows = ()
    ) -> None:
        if max(len(usage), len(audit), len(responses)) <= INLINE_ROWS:
            self._insert(usage, audit, checkpoints, responses)
        else:
            await self._in_thread(self._insert, usage, audit, checkpoints, responses)

    def refused_value(self, exc: Exception) -> bool:
        # The hot path's writes go through sqlite3 itself, whose errors SQLAlchemy never wraps.
        return super().refused_value(exc) or isinstance(exc, sqlite3.DataError)

    async def change_rollout(self, change: RolloutChange) -> RolloutState | None:
        return await asyncio.get_running_loop().run_in_executor(None, self._change, change)

    def _change(self, change: RolloutChange) -> RolloutState | None:
        try:
            with self._sync.begin() as conn:
                return apply_change(conn, change)
        except IntegrityError:  # another writer made the first stored version first
            return None

    async def add_alert(self, record: AlertRecord) -> int:
        # Like a rollout change, on a thread of its own: see the module's docstring.
        return await asyncio.get_running_loop().run_in_executor(None, self._add_alert, record)

    def _add_alert(self, record: AlertRecord) -> int:
        with self._sync.begin() as conn:
            return insert_alert(conn, record)

    async def add_feedback(self, record: FeedbackRecord) -> int:
        # On a thread of its own, like an alert: a gateway writes it between usage commits.
        return await asyncio.get_running_loop().run_in_executor(None, self._add_feedback, record)

    def _add_feedback(self, record: FeedbackRecord) -> int:
        with self._sync.begin() as conn:
            return insert_feedback(conn, record)

    async def add_key(self, record: KeyRecord, key_hash: str) -> None:
        # Admin writes too, on a thread of its own: through aiosqlite they would wait on the
        # loop while an inline usage commit holds the lock ("database is locked").
        await asyncio.get_running_loop().run_in_executor(None, self._add_key, record, key_hash)

    def _add_key(self, record: KeyRecord, key_hash: str) -> None:
        with self._sync.begin() as conn:
            insert_key(conn, record, key_hash)

    async def revoke_key(self, key_id: str, when: float) -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, self._revoke, key_id, when)

    def _revoke(self, key_id: str, when: float) -> bool:
        with self._sync.begin() as conn:
            return revoke_in(conn, key_id, when)

    async def _transaction(self, write: Callable[..., T], *args: Any) -> T:
        # The model registry's writes, like a rollout change: on a thread of their own.
        return await asyncio.get_running_loop().run_in_executor(None, self._run, write, *args)

    def _run(self, write: Callable[..., T], *args: Any) -> T:
        with self._sync.begin() as conn:
            return write(conn, *args)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        return conn

    def _insert(self, *tables: Rows) -> None:
        """Usage rows, audit rows, checkpoints, stored Responses: in one transaction, committed
        or rolled back."""
        if self._writer is None:
            raise RuntimeError("the SQLite store is not started")
        with self._writer:
            for (statement, columns), rows in zip(_INSERTS, tables, strict=True):
                if rows:
                    values = [tuple(r[c] for c in columns) for r in rows]
                    self._writer.executemany(statement, values)

    async def _checkpoints(self) -> None:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(1, thread_name_prefix="keel-sqlite-checkpoint") as thread:
            conn = await loop.run_in_executor(thread, self._connect)
            try:
                while True:
                    await asyncio.sleep(CHECKPOINT_S)
                    # PASSIVE: copies what it can without blocking the writer.
                    await loop.run_in_executor(thread, _checkpoint, conn)
            finally:
                await asyncio.shield(loop.run_in_executor(thread, conn.close))

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)


def _checkpoint(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as exc:
        log.warning("SQLite checkpoint failed (will retry): %s", exc)


def _create_private(path: str) -> None:
    # Records name teams, keys and models: only keel's user may read them. SQLite creates the
    # WAL and SHM files with the database file's mode, so making that one 0600 covers all three.
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


def _engine(path: str) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    event.listen(engine.sync_engine, "connect", _set_pragmas)
    return engine


def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in _PRAGMAS:
        cursor.execute(pragma)
    cursor.close()

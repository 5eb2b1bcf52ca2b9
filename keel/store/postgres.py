"""The PostgreSQL store (``postgresql://user@host/db``): the shared SQL store on asyncpg, and
what only PostgreSQL needs: old databases' narrower columns widened at start, and its way of
saying that a value was refused."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from keel.store.sql import SQLStore
from keel.store.tables import KEY_ID_LEN, STICKY_LEN

__all__ = ["PostgresStore"]


class PostgresStore(SQLStore):
    def __init__(self, url: str) -> None:
        async_url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        super().__init__(create_async_engine(async_url, pool_size=5, max_overflow=5))

    def refused_value(self, exc: Exception) -> bool:
        # SQLAlchemy's asyncpg dialect raises no DataError: the driver's error says so by its
        # SQLSTATE, class 22 (data exception, e.g. a string too long for its column).
        if super().refused_value(exc):
            return True
        orig = getattr(exc, "orig", None)
        for cause in (orig, getattr(orig, "__cause__", None)):
            if str(getattr(cause, "sqlstate", "") or "").startswith("22"):
                return True
        return False

    def _create_tables(self, conn: Connection) -> None:
        super()._create_tables(conn)
        _widen(conn)


# Columns older databases have narrower: key_id before it held a token's full `sub`, a
# rollout's sticky before it could name a predictive model's input.
_WIDER = (
    ("usage", "key_id", KEY_ID_LEN),
    ("feedback", "key_id", KEY_ID_LEN),
    ("rollouts", "sticky", STICKY_LEN),
)


def _widen(conn: Connection) -> None:
    # PostgreSQL enforces VARCHAR lengths (SQLite does not), so widen them in place.
    for table, name, width in _WIDER:
        for column in inspect(conn).get_columns(table):
            length = getattr(column["type"], "length", None)
            if column["name"] == name and length is not None and length < width:
                conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {name} TYPE VARCHAR({width})"))

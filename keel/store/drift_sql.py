"""The drift-window family's SQL, shared by both backends (``DriftSQL``, a part of
keel.store.sql's ``SQLStore``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from keel.store.drift import DriftRow
from keel.store.tables import drift_rows
from keel.store.transactional import Transactional

__all__ = ["DriftSQL"]


class DriftSQL(Transactional):
    """The drift-window family on an SQLAlchemy engine."""

    async def add_drift_rows(self, rows: Sequence[DriftRow]) -> None:
        if rows:
            await self._transaction(_insert, [asdict(row) for row in rows])

    async def drift_window(
        self, model: str, version: int, since: float, limit: int
    ) -> list[DriftRow]:
        c = drift_rows.c
        query = (
            select(c.model, c.version, c.ts, c.layout, c.data)
            .where(c.model == model, c.version == version, c.ts >= since)
            .order_by(c.ts.desc(), c.seq.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            found = [DriftRow(*row) for row in await conn.execute(query)]
        found.reverse()
        return found

    async def drift_versions(self, since: float) -> list[tuple[str, int]]:
        c = drift_rows.c
        query = select(c.model, c.version).where(c.ts >= since).distinct()
        async with self.engine.connect() as conn:
            return sorted((row[0], row[1]) for row in await conn.execute(query))

    async def delete_drift_rows(self, before: float) -> int:
        return await self._transaction(_delete, before)


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(drift_rows), rows)


def _delete(conn: Connection, before: float) -> int:
    return int(conn.execute(delete(drift_rows).where(drift_rows.c.ts < before)).rowcount)

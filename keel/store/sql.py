"""The SQL store on SQLAlchemy Core: PostgreSQL as it is, and the base of the SQLite store."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import case, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from keel.store.base import KeyRecord, Store, UsageGroup
from keel.store.tables import api_keys, metadata, usage

__all__ = ["SQLStore"]

_GROUPABLE = {"team", "model", "deployment", "region", "key_id", "status"}


class SQLStore(Store):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def start(self) -> None:
        # Several workers or replicas may start at once and race to create the tables; the
        # loser's CREATE fails, and its retry finds the tables there.
        for attempt in range(3):
            try:
                async with self.engine.begin() as conn:
                    await conn.run_sync(_create_tables)
                return
            except DBAPIError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def write_usage(self, rows: list[dict[str, Any]]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(usage), rows)

    async def usage_by(self, column: str, since: float) -> list[UsageGroup]:
        if column not in _GROUPABLE:
            raise ValueError(f"cannot group by {column!r}; use one of {sorted(_GROUPABLE)}")
        col = usage.c[column]
        query = (
            select(
                col,
                func.count(),
                func.sum(case((usage.c.status >= 400, 1), else_=0)),
                func.sum(usage.c.prompt_tokens),
                func.sum(usage.c.completion_tokens),
                func.sum(usage.c.cost_usd),
                func.avg(usage.c.latency_ms),
                func.avg(usage.c.overhead_ms),
            )
            .where(usage.c.ts >= since)
            .group_by(col)
            .order_by(col)
        )
        async with self.engine.connect() as conn:
            result = await conn.execute(query)
            return [
                UsageGroup(
                    key=None if r[0] is None else str(r[0]),
                    requests=int(r[1]),
                    errors=int(r[2] or 0),
                    prompt_tokens=int(r[3] or 0),
                    completion_tokens=int(r[4] or 0),
                    cost_usd=float(r[5] or 0.0),
                    avg_latency_ms=float(r[6] or 0.0),
                    avg_overhead_ms=float(r[7] or 0.0),
                )
                for r in result
            ]

    async def count_usage(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(usage))).scalar_one())

    async def add_key(self, record: KeyRecord, key_hash: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(api_keys).values(
                    id=record.id,
                    team=record.team,
                    name=record.name,
                    hash=key_hash,
                    prefix=record.prefix,
                    created_at=record.created_at,
                    expires_at=record.expires_at,
                    revoked_at=record.revoked_at,
                )
            )

    async def find_key(self, key_hash: str) -> KeyRecord | None:
        query = select(*_KEY_COLUMNS).where(api_keys.c.hash == key_hash)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return KeyRecord(*row) if row is not None else None

    async def list_keys(self, team: str | None = None) -> list[KeyRecord]:
        query = select(*_KEY_COLUMNS).order_by(api_keys.c.created_at)
        if team is not None:
            query = query.where(api_keys.c.team == team)
        async with self.engine.connect() as conn:
            return [KeyRecord(*row) for row in await conn.execute(query)]

    async def revoke_key(self, key_id: str, when: float) -> bool:
        query = (
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=when)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(query)
            if result.rowcount:
                return True
            exists = await conn.execute(select(api_keys.c.id).where(api_keys.c.id == key_id))
            return exists.first() is not None


_KEY_COLUMNS = (
    api_keys.c.id,
    api_keys.c.team,
    api_keys.c.name,
    api_keys.c.prefix,
    api_keys.c.created_at,
    api_keys.c.expires_at,
    api_keys.c.revoked_at,
)


def _create_tables(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)

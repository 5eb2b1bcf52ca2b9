"""The audit family's SQL, shared by both backends (``AuditSQL``, a part of keel.store.sql's
``SQLStore``): the chains' heads, records and checkpoints, read for ``keel audit``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select, tuple_, union
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from keel.store.audit import AuditRow, CheckpointRow
from keel.store.tables import audit, audit_checkpoints

__all__ = ["AuditSQL"]


class AuditSQL:
    """The audit family's reads on an SQLAlchemy engine (the ledger writes the records)."""

    engine: AsyncEngine

    async def audit_head(self, writer: str) -> AuditRow | None:
        query = select(audit).where(audit.c.writer == writer).order_by(audit.c.seq.desc())
        async with self.engine.connect() as conn:
            row = (await conn.execute(query.limit(1))).first()
        return _audit_row(row) if row is not None else None

    async def audit_writers(self) -> list[str]:
        query = union(select(audit.c.writer), select(audit_checkpoints.c.writer))
        async with self.engine.connect() as conn:
            return sorted(row[0] for row in await conn.execute(query))

    async def audit_records(self, writer: str, after_seq: int, limit: int) -> list[AuditRow]:
        query = (
            select(audit)
            .where(audit.c.writer == writer, audit.c.seq > after_seq)
            .order_by(audit.c.seq)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_audit_row(row) for row in await conn.execute(query)]

    async def audit_checkpoints(self, writer: str) -> list[CheckpointRow]:
        query = _checkpoints().where(audit_checkpoints.c.writer == writer)
        async with self.engine.connect() as conn:
            return [_checkpoint_row(row) for row in await conn.execute(query)]

    async def audit_latest_checkpoints(self, since: float, limit: int) -> list[CheckpointRow]:
        c = audit_checkpoints.c
        latest = (
            select(c.writer, func.max(c.n).label("n"))
            .where(c.ts >= since, c.n.is_not(None))
            .group_by(c.writer)
            .order_by(func.max(c.ts).desc())
            .limit(limit)
            .subquery()
        )
        query = _checkpoints().join(latest, (c.writer == latest.c.writer) & (c.n == latest.c.n))
        async with self.engine.connect() as conn:
            rows = [_checkpoint_row(row) for row in await conn.execute(query)]
        # A checkpoint stored twice (a retried commit that had landed) counts once.
        return list({(row.writer, row.n): row for row in rows}.values())

    async def audit_since(
        self, since: float, writer: str | None, after: AuditRow | None, limit: int
    ) -> list[AuditRow]:
        c = audit.c
        query = select(audit).where(c.ts >= since)
        if writer is not None:
            query = query.where(c.writer == writer)
        if after is not None:
            place = tuple_(c.ts, c.writer, c.seq)
            query = query.where(place > tuple_(after.ts, after.writer, after.seq))
        query = query.order_by(c.ts, c.writer, c.seq).limit(limit)
        async with self.engine.connect() as conn:
            return [_audit_row(row) for row in await conn.execute(query)]


def _audit_row(row: Row[Any]) -> AuditRow:
    m = row._mapping
    return AuditRow(
        writer=m["writer"], seq=int(m["seq"]), ts=float(m["ts"]), prev=m["prev"],
        hash=m["hash"], record=m["record"],
    )  # fmt: skip


def _checkpoints() -> Select[Any]:
    c = audit_checkpoints.c
    return select(c.writer, c.seq, c.head, c.ts, c.key_id, c.signature, c.final, c.n,
                  c.vouch).order_by(c.seq, c.n, c.ts, c.id)  # fmt: skip


def _checkpoint_row(row: Row[Any]) -> CheckpointRow:
    writer, seq, head, ts, key_id, signature, final, n, vouch = tuple(row)
    return CheckpointRow(writer, seq, head, ts, key_id, signature, bool(final), n, vouch)

"""The episode family's SQL, shared by both backends (``EpisodeSQL``, a part of
keel.store.sql's ``SQLStore``). An open episode holds its ``open_key`` (kind:subject) in a
unique column; closing it sets the column to NULL (NULLs never collide), so of two replicas
opening or closing the same episode at once exactly one does."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from keel.store.episodes import EpisodeRecord
from keel.store.tables import alert_episodes
from keel.store.transactional import Transactional

__all__ = ["EpisodeSQL"]


class EpisodeSQL(Transactional):
    """The episode family on an SQLAlchemy engine."""

    async def open_episode(self, record: EpisodeRecord) -> tuple[EpisodeRecord, bool]:
        try:
            seq = await self._transaction(_insert, _values(record))
            return _with_seq(record, seq), True
        except IntegrityError:
            pass
        found = await self._open(record.key)
        if found is None:  # closed between the two statements: open it again
            return await self.open_episode(record)
        return found, False

    async def close_episode(self, kind: str, subject: str, ts: float) -> EpisodeRecord | None:
        key = f"{kind}:{subject}"
        found = await self._open(key)
        if found is None:
            return None
        if not await self._transaction(_close, found.seq, key, ts):
            return None
        return EpisodeRecord(
            found.kind, found.subject, found.started_at, found.message, found.value,
            found.threshold, found.details, ts, found.seq,
        )  # fmt: skip

    async def episodes(self, since: float = 0.0, open_only: bool = False) -> list[EpisodeRecord]:
        c = alert_episodes.c
        query = select(alert_episodes).order_by(c.seq)
        if open_only:
            query = query.where(c.open_key.is_not(None))
        else:
            query = query.where(or_(c.resolved_at.is_(None), c.resolved_at >= since))
        async with self.engine.connect() as conn:
            return [_record(row) for row in await conn.execute(query)]

    async def _open(self, key: str) -> EpisodeRecord | None:
        query = select(alert_episodes).where(alert_episodes.c.open_key == key)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _record(row)


def _insert(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(alert_episodes).values(values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _close(conn: Connection, seq: int, key: str, ts: float) -> bool:
    c = alert_episodes.c
    statement = (
        update(alert_episodes)
        .where(c.seq == seq, c.open_key == key)
        .values(open_key=None, resolved_at=ts)
    )
    return bool(conn.execute(statement).rowcount == 1)


def _values(record: EpisodeRecord) -> dict[str, Any]:
    return {
        "open_key": record.key,
        "kind": record.kind,
        "subject": record.subject,
        "started_at": record.started_at,
        "resolved_at": None,
        "message": record.message,
        "value": record.value,
        "threshold": record.threshold,
        "details": orjson.dumps(record.details).decode(),
    }


def _with_seq(record: EpisodeRecord, seq: int) -> EpisodeRecord:
    return EpisodeRecord(
        record.kind, record.subject, record.started_at, record.message, record.value,
        record.threshold, record.details, record.resolved_at, seq,
    )  # fmt: skip


def _record(row: Row[Any]) -> EpisodeRecord:
    m = row._mapping
    return EpisodeRecord(
        kind=m["kind"],
        subject=m["subject"],
        started_at=m["started_at"],
        message=m["message"],
        value=m["value"],
        threshold=m["threshold"],
        details=orjson.loads(m["details"]) if m["details"] else {},
        resolved_at=m["resolved_at"],
        seq=m["seq"],
    )

"""The SQL store on SQLAlchemy Core, shared by both backends: every query and write, on an
async engine. keel.store.postgres runs it on asyncpg; keel.store.sqlite writes the hot path's
records through sqlite3 itself and runs its other writes on threads of their own."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    Table,
    case,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from keel.store.alerts import AlertRecord
from keel.store.audit_sql import AuditSQL
from keel.store.base import Rows, Store
from keel.store.drift_sql import DriftSQL
from keel.store.embedding_sql import EmbeddingSQL
from keel.store.episode_sql import EpisodeSQL
from keel.store.feedback import FeedbackRecord
from keel.store.keys import KeyRecord
from keel.store.model_sql import (
    RETRIES,
    alias_event,
    archive_in,
    insert_version,
    model_alias,
    model_version,
    move_alias_in,
)
from keel.store.models import AliasEvent, AliasMove, ModelAlias, ModelVersion
from keel.store.quality_sql import QualitySQL
from keel.store.request_ids import unique_request_ids
from keel.store.response_sql import ResponseSQL
from keel.store.rollout_sql import RolloutSQL, apply_change
from keel.store.tables import (
    alerts,
    api_keys,
    audit,
    audit_checkpoints,
    feedback,
    metadata,
    model_alias_events,
    model_aliases,
    model_versions,
    responses,
    usage,
)
from keel.store.usage import AUDITED_USAGE, UsageGroup, UsageRecord

T = TypeVar("T")

__all__ = ["SQLStore", "apply_change", "insert_alert", "insert_feedback", "insert_key", "revoke_in"]

_SPEND_BY = {"team", "project", "key_id"}
_GROUPABLE = {"team", "model", "deployment", "region", "key_id", "status", "kind"}
# Columns added after their table was first released: databases made before get them at start.
_ADDED = (
    ("usage", "kind", "VARCHAR(16) NOT NULL DEFAULT 'call'"),
    ("api_keys", "models", "TEXT"),
    ("api_keys", "data_class", "VARCHAR(128)"),
    ("api_keys", "project", "VARCHAR(128)"),
    ("usage", "project", "VARCHAR(128)"),
    ("usage", "cached_tokens", "INTEGER NOT NULL DEFAULT 0"),
    ("audit_checkpoints", "final", "BOOLEAN NOT NULL DEFAULT FALSE"),
    ("audit_checkpoints", "n", "BIGINT"),
    ("audit_checkpoints", "vouch", "TEXT"),
    ("rollouts", "shadow", "VARCHAR(256)"),
)
# Indexes added after their table was first released (CREATE INDEX IF NOT EXISTS).
_ADDED_INDEXES = (("ix_audit_checkpoints_ts", "audit_checkpoints", "ts"),)


class SQLStore(
    QualitySQL, EmbeddingSQL, ResponseSQL, AuditSQL, RolloutSQL, EpisodeSQL, DriftSQL, Store
):
    """The record store on any SQLAlchemy async engine; the backends add what is theirs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def start(self) -> None:
        # Several workers or replicas may start at once and race to create the tables (or add
        # a column); the loser's CREATE or ALTER fails, and its retry finds them there.
        for attempt in range(3):
            try:
                async with self.engine.begin() as conn:
                    await conn.run_sync(self._create_tables)
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

    async def write(
        self, usage: Rows, audit: Rows = (), checkpoints: Rows = (), responses: Rows = ()
    ) -> None:
        async with self.engine.begin() as conn:
            for table, rows in _tables(usage, audit, checkpoints, responses):
                await conn.execute(insert(table), list(rows))

    def refused_value(self, exc: Exception) -> bool:
        return isinstance(exc, DataError)

    async def _transaction(self, write: Callable[..., T], *args: Any) -> T:
        """Run ``write(conn, *args)`` in one transaction (SQLite runs it on a thread)."""
        async with self.engine.begin() as conn:
            return await conn.run_sync(write, *args)

    def _create_tables(self, conn: Connection) -> None:
        """Create what is missing: tables, columns and indexes added since, the unique request
        ids. In the caller's transaction."""
        metadata.create_all(conn, checkfirst=True)
        for table, column, ddl in _ADDED:
            if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))
        for name, table, columns in _ADDED_INDEXES:
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})"))
        unique_request_ids(conn)

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

    async def spent_between(self, column: str, value: str, since: float, until: float) -> float:
        if column not in _SPEND_BY:
            raise ValueError(f"cannot sum spend by {column!r}; use one of {sorted(_SPEND_BY)}")
        query = select(func.sum(usage.c.cost_usd)).where(
            usage.c[column] == value,
            usage.c.ts >= since,
            usage.c.ts < until,
            usage.c.kind == "call",
        )
        async with self.engine.connect() as conn:
            return float((await conn.execute(query)).scalar() or 0.0)

    async def usage_rows(
        self, since: float, until: float, after_seq: int = 0, limit: int = 5000
    ) -> list[UsageRecord]:
        query = (
            select(*_REPORT_COLUMNS)
            .where(usage.c.ts >= since, usage.c.ts < until, usage.c.seq > after_seq)
            .order_by(usage.c.seq)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [UsageRecord(*row) for row in await conn.execute(query)]

    async def stored_request_ids(
        self, request_ids: Sequence[str]
    ) -> dict[tuple[str, str], tuple[float, str | None]]:
        c = usage.c
        query = select(c.request_id, c.kind, c.ts, c.team).where(c.request_id.in_(request_ids))
        async with self.engine.connect() as conn:
            return {(r[0], r[1]): (float(r[2]), r[3]) for r in await conn.execute(query)}

    async def usage_audit_rows(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        c = usage.c
        columns = [c.seq, c.request_id, c.kind, *(c[name] for name in AUDITED_USAGE)]
        query = select(*columns).where(c.seq > after_seq).order_by(c.seq).limit(limit)
        async with self.engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(query)]

    async def call_team(self, request_id: str) -> str | None:
        c = usage.c
        query = select(c.team).where(c.request_id == request_id, c.kind == "call")
        async with self.engine.connect() as conn:
            team = (await conn.execute(query)).scalar()
        return None if team is None else str(team)

    async def add_key(self, record: KeyRecord, key_hash: str) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(insert_key, record, key_hash)

    async def find_key(self, key_hash: str) -> KeyRecord | None:
        query = select(*_KEY_COLUMNS).where(api_keys.c.hash == key_hash)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return KeyRecord(**row._mapping) if row is not None else None

    async def list_keys(
        self, team: str | None = None, project: str | None = None
    ) -> list[KeyRecord]:
        query = select(*_KEY_COLUMNS).order_by(api_keys.c.created_at)
        if team is not None:
            query = query.where(api_keys.c.team == team)
        if project is not None:
            query = query.where(api_keys.c.project == project)
        async with self.engine.connect() as conn:
            return [KeyRecord(**row._mapping) for row in await conn.execute(query)]

    async def revoke_key(self, key_id: str, when: float) -> bool:
        async with self.engine.begin() as conn:
            return await conn.run_sync(revoke_in, key_id, when)

    async def call_attempts(
        self, model: str, since: float, limit: int
    ) -> list[list[dict[str, Any]]]:
        query = (
            select(usage.c.attempts)
            .where(usage.c.model == model, usage.c.ts >= since, usage.c.kind == "call")
            .order_by(usage.c.seq.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [orjson.loads(row[0]) for row in await conn.execute(query)]

    async def add_alert(self, record: AlertRecord) -> int:
        async with self.engine.begin() as conn:
            return await conn.run_sync(insert_alert, record)

    async def alerts_since(self, since: float, limit: int = 1000) -> list[AlertRecord]:
        query = select(alerts).where(alerts.c.ts >= since).order_by(alerts.c.seq.desc())
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query.limit(limit)))
        return [_alert(row) for row in reversed(rows)]

    async def add_feedback(self, record: FeedbackRecord) -> int:
        async with self.engine.begin() as conn:
            return await conn.run_sync(insert_feedback, record)

    async def feedback_since(self, since: float) -> list[FeedbackRecord]:
        c = feedback.c
        query = (
            select(c.ts, c.request_id, c.outcome, c.team, c.project, c.key_id, c.seq)
            .where(c.ts >= since)
            .order_by(c.seq)
        )
        async with self.engine.connect() as conn:
            return [FeedbackRecord(*row) for row in await conn.execute(query)]

    async def add_model_version(self, record: ModelVersion) -> ModelVersion:
        for attempt in range(RETRIES):
            try:
                return await self._transaction(insert_version, record)
            except IntegrityError:  # another writer took the number: take the next
                if attempt == RETRIES - 1:
                    raise
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise AssertionError("unreachable")

    async def model_versions(self, name: str | None = None) -> list[ModelVersion]:
        c = model_versions.c
        query = select(model_versions).order_by(c.name, c.version)
        if name is not None:
            query = query.where(c.name == name)
        async with self.engine.connect() as conn:
            return [model_version(row._mapping) for row in await conn.execute(query)]

    async def model_version(self, name: str, version: int) -> ModelVersion | None:
        c = model_versions.c
        query = select(model_versions).where(c.name == name, c.version == version)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return model_version(row._mapping) if row is not None else None

    async def archive_model_version(self, name: str, version: int, when: float) -> bool:
        return await self._transaction(archive_in, name, version, when)

    async def model_aliases(self, name: str | None = None) -> list[ModelAlias]:
        c = model_aliases.c
        query = select(c.name, c.alias, c.version).order_by(c.name, c.alias)
        if name is not None:
            query = query.where(c.name == name)
        async with self.engine.connect() as conn:
            return [model_alias(row) for row in await conn.execute(query)]

    async def move_model_alias(self, move: AliasMove) -> AliasEvent:
        for attempt in range(RETRIES):
            try:
                event = await self._transaction(move_alias_in, move)
            except IntegrityError:  # another writer made the alias first: move it from there
                event = None
            if event is not None:
                return event
            await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise RuntimeError(f"{move.name}@{move.alias} kept moving under {RETRIES} tries; retry")

    async def model_alias_events(self, name: str | None = None) -> list[AliasEvent]:
        c = model_alias_events.c
        query = select(model_alias_events).order_by(c.seq)
        if name is not None:
            query = query.where(c.name == name)
        async with self.engine.connect() as conn:
            return [alias_event(row) for row in await conn.execute(query)]


_REPORT_COLUMNS = tuple(usage.c[f.name] for f in dataclasses.fields(UsageRecord))


def insert_key(conn: Connection, record: KeyRecord, key_hash: str) -> None:
    conn.execute(
        insert(api_keys).values(
            id=record.id,
            team=record.team,
            name=record.name,
            hash=key_hash,
            prefix=record.prefix,
            created_at=record.created_at,
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
            models=record.models,
            data_class=record.data_class,
            project=record.project,
        )
    )


def revoke_in(conn: Connection, key_id: str, when: float) -> bool:
    query = (
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=when)
    )
    if conn.execute(query).rowcount:
        return True
    return conn.execute(select(api_keys.c.id).where(api_keys.c.id == key_id)).first() is not None


def insert_feedback(conn: Connection, record: FeedbackRecord) -> int:
    """Write a feedback in the caller's transaction; return its seq."""
    values = {
        f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name != "seq"
    }
    result = conn.execute(insert(feedback).values(**values).returning(feedback.c.seq))
    return int(result.scalar_one())


def _tables(
    usage_rows: Rows, audit_rows: Rows, checkpoints: Rows, stored: Rows
) -> list[tuple[Table, Rows]]:
    """The non-empty ones, in one order: an INSERT of no rows is an error."""
    pairs = (
        (usage, usage_rows),
        (audit, audit_rows),
        (audit_checkpoints, checkpoints),
        (responses, stored),
    )
    return [(table, rows) for table, rows in pairs if rows]


_KEY_COLUMNS = (
    api_keys.c.id,
    api_keys.c.team,
    api_keys.c.name,
    api_keys.c.prefix,
    api_keys.c.created_at,
    api_keys.c.expires_at,
    api_keys.c.revoked_at,
    api_keys.c.models,
    api_keys.c.data_class,
    api_keys.c.project,
)


def insert_alert(conn: Connection, record: AlertRecord) -> int:
    """Write one alert record in the caller's transaction; its seq."""
    values = {f: getattr(record, f) for f in _ALERT_FIELDS}
    values["limit_value"] = values.pop("limit")
    result = conn.execute(insert(alerts).values(**values).returning(alerts.c.seq))
    return int(result.scalar_one())


_ALERT_FIELDS = tuple(f.name for f in dataclasses.fields(AlertRecord) if f.name != "seq")


def _alert(row: Row[Any]) -> AlertRecord:
    m = dict(row._mapping)
    m["limit"] = m.pop("limit_value")
    return AlertRecord(**m)

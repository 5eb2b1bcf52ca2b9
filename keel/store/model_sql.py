"""The model family's SQL, shared by both backends: each write is one function run in the
caller's transaction (keel.store.sql retries it whole on a conflict), and the row mapping."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Row

from keel.store.models import AliasEvent, AliasMove, ModelAlias, ModelVersion
from keel.store.tables import model_alias_events, model_aliases, model_versions

__all__ = [
    "RETRIES",
    "alias_event",
    "archive_in",
    "insert_version",
    "model_alias",
    "model_version",
    "move_alias_in",
]

# Attempts at a version number or an alias move: each round of racing writers has one winner,
# so N writers at once need N attempts; registry writes are rare, this is plenty.
RETRIES = 20
_JSON_COLUMNS = ("signature", "metrics", "training", "tags")
_FIELDS = tuple(f.name for f in dataclasses.fields(ModelVersion))


def insert_version(conn: Connection, record: ModelVersion) -> ModelVersion:
    """Insert ``record`` as the next version of its name. Raises IntegrityError if another
    writer took that number meanwhile (the unique (name, version) index)."""
    latest = select(func.max(model_versions.c.version)).where(model_versions.c.name == record.name)
    version = int(conn.execute(latest).scalar() or 0) + 1
    values = record.as_dict() | {"version": version}
    for column in _JSON_COLUMNS:
        if values[column] is not None:
            values[column] = orjson.dumps(values[column]).decode()
    conn.execute(insert(model_versions).values(**values))
    return model_version(values)


def archive_in(conn: Connection, name: str, version: int, when: float) -> bool:
    c = model_versions.c
    query = update(model_versions).where(c.name == name, c.version == version)
    if conn.execute(query.where(c.archived_at.is_(None)).values(archived_at=when)).rowcount:
        return True
    found = select(c.seq).where(c.name == name, c.version == version)
    return conn.execute(found).first() is not None


def move_alias_in(conn: Connection, move: AliasMove) -> AliasEvent | None:
    """Point the alias and write its event; None if another writer moved it between the read
    and the write (nothing written: try again). Raises IntegrityError if another writer made
    the alias first."""
    c = model_aliases.c
    where = (c.name == move.name, c.alias == move.alias)
    before = conn.execute(select(c.version).where(*where)).scalar()
    if before is None:
        conn.execute(
            insert(model_aliases).values(name=move.name, alias=move.alias, version=move.version)
        )
    else:
        moved = update(model_aliases).where(*where, c.version == before)
        if not conn.execute(moved.values(version=move.version)).rowcount:
            return None
    event = AliasEvent(0, move.ts, move.name, move.alias, before, move.version, move.who, move.why)
    values = {k: v for k, v in dataclasses.asdict(event).items() if k != "seq"}
    result = conn.execute(
        insert(model_alias_events).values(**values).returning(model_alias_events.c.seq)
    )
    return dataclasses.replace(event, seq=int(result.scalar_one()))


def model_version(m: Any) -> ModelVersion:
    """A version from its row's mapping (or the values inserted)."""
    values = {k: m[k] for k in _FIELDS}
    for column in _JSON_COLUMNS:
        if isinstance(values[column], str):
            values[column] = orjson.loads(values[column])
    return ModelVersion(**values)


def model_alias(row: Row[Any, Any, Any]) -> ModelAlias:
    name, alias, version = tuple(row)
    return ModelAlias(name, alias, int(version))


def alias_event(row: Row[Any]) -> AliasEvent:
    m = row._mapping
    return AliasEvent(
        seq=int(m["seq"]),
        ts=float(m["ts"]),
        name=m["name"],
        alias=m["alias"],
        before=m["before"],
        after=int(m["after"]),
        who=m["who"],
        why=m["why"],
    )

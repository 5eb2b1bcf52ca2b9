"""The rollout family's SQL, shared by both backends (``RolloutSQL``, a part of
keel.store.sql's ``SQLStore``): the stored splits and their events. A change writes the split
only if it is still at the version the change was decided on (``apply_change``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from keel.store.rollouts import RolloutChange, RolloutEvent, RolloutState
from keel.store.tables import rollout_events, rollouts

__all__ = ["RolloutSQL", "apply_change"]


class RolloutSQL:
    """The rollout family on an SQLAlchemy engine."""

    engine: AsyncEngine

    async def rollouts(self) -> list[RolloutState]:
        async with self.engine.connect() as conn:
            return [_state(row) for row in await conn.execute(select(rollouts))]

    async def change_rollout(self, change: RolloutChange) -> RolloutState | None:
        try:
            async with self.engine.begin() as conn:
                return await conn.run_sync(apply_change, change)
        except IntegrityError:  # another writer made the first stored version first
            return None

    async def rollout_events(self, model: str | None = None, limit: int = 10) -> list[RolloutEvent]:
        query = select(rollout_events).order_by(rollout_events.c.seq.desc()).limit(limit)
        if model is not None:
            query = query.where(rollout_events.c.model == model)
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(query))
        return [_event(row) for row in reversed(rows)]


def apply_change(conn: Connection, change: RolloutChange) -> RolloutState | None:
    """Write a split and its event in the caller's transaction; None if the stored version
    is no longer the one the change was decided on. Raises IntegrityError if another writer
    inserted the first version meanwhile."""
    expected = change.before.version if change.before is not None else 0
    stored = dataclasses.replace(change.after, version=expected + 1, updated_at=change.ts)
    if not _write_split(conn, stored, expected):
        return None
    conn.execute(insert(rollout_events).values(
        ts=change.ts, model=stored.model, action=change.action, actor=change.actor,
        before=_json(change.before.as_dict()) if change.before else None,
        after=_json(stored.as_dict()), reason=change.reason,
    ))  # fmt: skip
    return stored


def _write_split(conn: Connection, state: RolloutState, expected: int) -> bool:
    """Insert the first stored version, or update the row still at ``expected``."""
    values = {
        "mode": state.mode, "canary": state.canary, "percent": state.percent,
        "weights": _json(state.weights), "sticky": state.sticky, "status": state.status,
        "version": state.version, "updated_at": state.updated_at, "shadow": state.shadow,
    }  # fmt: skip
    if expected == 0:
        conn.execute(insert(rollouts).values(model=state.model, **values))
        return True
    query = (
        update(rollouts)
        .where(rollouts.c.model == state.model, rollouts.c.version == expected)
        .values(**values)
    )
    return bool(conn.execute(query).rowcount)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _state(row: Row[Any]) -> RolloutState:
    m = row._mapping
    return RolloutState(
        model=m["model"], mode=m["mode"], canary=m["canary"], percent=float(m["percent"]),
        weights=orjson.loads(m["weights"]), sticky=m["sticky"], status=m["status"],
        version=int(m["version"]), updated_at=float(m["updated_at"]), shadow=m["shadow"],
    )  # fmt: skip


def _event(row: Row[Any]) -> RolloutEvent:
    m = row._mapping
    before = m["before"]
    return RolloutEvent(
        seq=int(m["seq"]), ts=float(m["ts"]), model=m["model"], action=m["action"],
        actor=m["actor"], before=orjson.loads(before) if before is not None else None,
        after=orjson.loads(m["after"]), reason=m["reason"],
    )  # fmt: skip

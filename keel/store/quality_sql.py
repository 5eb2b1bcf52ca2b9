"""The quality family's SQL, shared by both backends (``QualitySQL``, a part of
keel.store.sql's ``SQLStore``): the prediction log, labels, and their join.

The join takes each logged row's latest label (the highest seq of its request id and row), in
the database, by the (request_id, row_index) indexes of both tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.engine import Connection

from keel.store.quality import (
    CallOwner,
    FeedbackJoined,
    Labelled,
    LabelRecord,
    PredictionRow,
    QualityStore,
)
from keel.store.tables import feedback, labels, predictions, usage
from keel.store.transactional import Transactional

__all__ = ["QualitySQL"]


class QualitySQL(Transactional, QualityStore):
    """The quality family on an SQLAlchemy engine; writes in ``_transaction``."""

    async def add_predictions(self, rows: Sequence[PredictionRow]) -> None:
        if rows:
            await self._transaction(_insert_predictions, [_prediction_values(r) for r in rows])

    async def add_labels(self, records: Sequence[LabelRecord]) -> int:
        if not records:
            return 0
        return await self._transaction(_insert_labels, [_label_values(r) for r in records])

    async def call_owners(self, request_ids: Sequence[str]) -> dict[str, CallOwner]:
        c = usage.c
        query = select(c.request_id, c.team, c.model).where(
            c.request_id.in_(list(set(request_ids))), c.kind == "call"
        )
        async with self.engine.connect() as conn:
            return {r[0]: CallOwner(r[1], r[2]) for r in await conn.execute(query)}

    async def labelled(self, model: str, since: float, limit: int = 200_000) -> list[Labelled]:
        p, lab = predictions.c, labels.c
        later = labels.alias("later")  # the same row's labels, for the latest of them
        latest = (
            select(func.max(later.c.seq))
            .where(later.c.request_id == p.request_id, later.c.row_index == p.row_index)
            .scalar_subquery()
        )
        query = (
            select(p.version, p.kind, p.ts, p.label, p.probabilities, lab.label, lab.ts, lab.source)
            .select_from(
                predictions.join(
                    labels, and_(lab.request_id == p.request_id, lab.row_index == p.row_index)
                )
            )
            .where(p.model == model, p.ts >= since, lab.model == model, lab.seq == latest)
            .order_by(p.ts.desc(), p.seq.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = [_labelled(r) for r in await conn.execute(query)]
        rows.reverse()  # the newest ``limit``, oldest first
        return rows

    async def feedback_joined(
        self, model: str, since: float, limit: int = 200_000
    ) -> list[FeedbackJoined]:
        u, f = usage.c, feedback.c
        later = feedback.alias("later")
        latest = (
            select(func.max(later.c.seq))
            .where(later.c.request_id == u.request_id)
            .scalar_subquery()
        )
        query = (
            select(u.deployment, u.ts, f.outcome)
            .select_from(usage.join(feedback, f.request_id == u.request_id))
            .where(u.model == model, u.kind == "call", u.ts >= since, f.seq == latest)
            .order_by(u.ts.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            joined = [FeedbackJoined(r[0], float(r[1]), r[2]) for r in await conn.execute(query)]
        joined.reverse()  # the newest ``limit``, oldest first
        return joined

    async def delete_predictions(self, before: float) -> int:
        return await self._transaction(_delete_predictions, before)


def _prediction_values(row: PredictionRow) -> dict[str, Any]:
    probabilities = row.probabilities
    return {
        "request_id": row.request_id, "kind": row.kind, "model": row.model,
        "version": row.version, "ts": row.ts, "row_index": row.row, "label": row.label,
        "score": row.score,
        "probabilities": None if probabilities is None else orjson.dumps(probabilities).decode(),
    }  # fmt: skip


def _label_values(record: LabelRecord) -> dict[str, Any]:
    return {
        "ts": record.ts, "request_id": record.request_id, "row_index": record.row,
        "label": record.label, "model": record.model, "team": record.team,
        "key_id": record.key_id, "source": record.source,
    }  # fmt: skip


def _insert_predictions(conn: Connection, values: list[dict[str, Any]]) -> None:
    conn.execute(insert(predictions), values)


def _insert_labels(conn: Connection, values: list[dict[str, Any]]) -> int:
    conn.execute(insert(labels), values)
    return len(values)


def _delete_predictions(conn: Connection, before: float) -> int:
    return int(conn.execute(delete(predictions).where(predictions.c.ts < before)).rowcount)


def _labelled(r: Sequence[Any]) -> Labelled:
    return Labelled(
        int(r[0]), r[1], float(r[2]), r[3], _probabilities(r[4]), r[5], float(r[6]), r[7]
    )


def _probabilities(text: str | None) -> tuple[float, ...] | None:
    return None if text is None else tuple(float(x) for x in orjson.loads(text))

"""The prompt embedding family's SQL, shared by both backends (``EmbeddingSQL``, a part of
keel.store.sql's ``SQLStore``). Writes run in ``_transaction`` (on SQLite, on a thread of
their own: see keel.store.sqlite); a reference sample reads the window's row numbers first and
then only the sampled rows' vectors."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, not_, select
from sqlalchemy.engine import Connection, Row

from keel.store.embeddings import EmbeddingCheck, EmbeddingPin, EmbeddingStore, PromptVector
from keel.store.tables import embedding_checks, embedding_pins, prompt_vectors
from keel.store.transactional import Transactional

__all__ = ["EmbeddingSQL"]

_CHUNK = 500  # row numbers per IN (...) when reading a sample
_VECTOR_COLUMNS = tuple(prompt_vectors.c[f.name] for f in dataclasses.fields(PromptVector))
_CHECK_FIELDS = tuple(f.name for f in dataclasses.fields(EmbeddingCheck) if f.name != "seq")


class EmbeddingSQL(Transactional, EmbeddingStore):
    """The prompt embedding family on an SQLAlchemy engine."""

    async def add_prompt_vectors(self, rows: Sequence[PromptVector]) -> None:
        if rows:
            await self._transaction(_insert_vectors, [dataclasses.asdict(r) for r in rows])

    async def latest_prompt_vectors(
        self, model: str, after: float, limit: int, arm: str | None = None
    ) -> list[PromptVector]:
        c = prompt_vectors.c
        query = select(*_VECTOR_COLUMNS).where(c.model == model, c.ts > after)
        if arm is not None:
            query = query.where(c.arm == arm)
        query = query.order_by(c.ts.desc(), c.seq.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [PromptVector(*row) for row in await conn.execute(query)]

    async def sample_prompt_vectors(
        self, model: str, since: float, until: float, limit: int, seed: int
    ) -> list[PromptVector]:
        c = prompt_vectors.c
        window = and_(c.model == model, c.ts >= since, c.ts <= until)
        async with self.engine.connect() as conn:
            seqs = [int(s) for s in (await conn.execute(select(c.seq).where(window))).scalars()]
            if len(seqs) > limit:
                seqs = sorted(random.Random(seed).sample(seqs, limit))
            vectors: list[PromptVector] = []
            for first in range(0, len(seqs), _CHUNK):
                chunk = seqs[first : first + _CHUNK]
                query = select(*_VECTOR_COLUMNS).where(c.seq.in_(chunk)).order_by(c.seq)
                vectors.extend(PromptVector(*row) for row in await conn.execute(query))
        return vectors

    async def delete_prompt_vectors(self, before: float) -> int:
        pins = await self.embedding_pins()
        return await self._transaction(_delete_old, before, pins)

    async def add_embedding_pin(self, pin: EmbeddingPin) -> EmbeddingPin:
        seq = await self._transaction(_insert_pin, pin)
        return dataclasses.replace(pin, seq=seq)

    async def embedding_pins(self) -> list[EmbeddingPin]:
        c = embedding_pins.c
        latest = select(func.max(c.seq)).group_by(c.model).scalar_subquery()
        query = select(embedding_pins).where(c.seq.in_(latest)).order_by(c.model)
        async with self.engine.connect() as conn:
            return [_pin(row) for row in await conn.execute(query)]

    async def add_embedding_check(self, check: EmbeddingCheck) -> None:
        await self._transaction(_insert_check, check)

    async def embedding_checks(self, model: str, limit: int = 10) -> list[EmbeddingCheck]:
        c = embedding_checks.c
        query = (
            select(*(c[name] for name in (*_CHECK_FIELDS, "seq")))
            .where(c.model == model)
            .order_by(c.seq.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_check(row) for row in await conn.execute(query)]


def _insert_vectors(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(prompt_vectors), rows)


def _insert_pin(conn: Connection, pin: EmbeddingPin) -> int:
    values = {f.name: getattr(pin, f.name) for f in dataclasses.fields(pin) if f.name != "seq"}
    query = insert(embedding_pins).values(**values).returning(embedding_pins.c.seq)
    return int(conn.execute(query).scalar_one())


def _insert_check(conn: Connection, check: EmbeddingCheck) -> None:
    conn.execute(insert(embedding_checks).values({f: getattr(check, f) for f in _CHECK_FIELDS}))


def _delete_old(conn: Connection, before: float, pins: list[EmbeddingPin]) -> int:
    c = prompt_vectors.c
    old: ColumnElement[bool] = c.ts < before
    for pin in pins:  # a pinned reference outlives the retention
        old = and_(old, not_(and_(c.model == pin.model, c.ts >= pin.since, c.ts <= pin.until)))
    deleted = conn.execute(delete(prompt_vectors).where(old)).rowcount
    conn.execute(delete(embedding_checks).where(embedding_checks.c.ts < before))
    return int(deleted)


def _pin(row: Row[Any]) -> EmbeddingPin:
    m = row._mapping
    return EmbeddingPin(
        model=m["model"], since=float(m["since"]), until=float(m["until"]),
        pinned_at=float(m["pinned_at"]), actor=m["actor"], seq=int(m["seq"]),
    )  # fmt: skip


def _check(row: Row[Any]) -> EmbeddingCheck:
    m = row._mapping
    return EmbeddingCheck(**{name: m[name] for name in (*_CHECK_FIELDS, "seq")})

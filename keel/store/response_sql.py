"""The response family's SQL, shared by both backends (``ResponseSQL``, a part of
keel.store.sql's ``SQLStore``). A chain is read in one query, a recursive CTE that follows
``previous_response_id`` within the team, bounded by the limit."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import delete, insert, literal, select
from sqlalchemy.engine import Connection

from keel.store.responses import (
    ChainTooDeep,
    ItemPage,
    Order,
    ResponseNotFound,
    ResponseStore,
    StoredResponse,
    page_items,
)
from keel.store.tables import responses
from keel.store.transactional import Transactional

__all__ = ["ResponseSQL", "response_row", "stored_row"]

_FIELDS = ("id", "team", "created_at", "model", "previous_response_id")


class ResponseSQL(Transactional, ResponseStore):
    """The response family on an SQLAlchemy engine; writes in ``_transaction``."""

    async def save_response(self, record: StoredResponse) -> None:
        await self._transaction(_insert, record)

    async def get_response(self, team: str, response_id: str) -> StoredResponse | None:
        c = responses.c
        query = select(responses).where(c.team == team, c.id == response_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _record(row._mapping) if row is not None else None

    async def delete_response(self, team: str, response_id: str) -> bool:
        return await self._transaction(_delete, team, response_id)

    async def response_chain(self, team: str, response_id: str, limit: int) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(_chain_query(team, response_id, limit)))
        if not rows:
            raise ResponseNotFound(response_id)
        deepest = rows[0]._mapping  # ordered from the oldest
        if deepest["depth"] > limit:
            raise ChainTooDeep(response_id, limit)
        if deepest["previous_response_id"] is not None:
            raise ResponseNotFound(deepest["previous_response_id"])
        items: list[dict[str, Any]] = []
        for row in rows:
            items.extend(orjson.loads(row._mapping["input_items"]))
            items.extend(orjson.loads(row._mapping["output_items"]))
        return items

    async def response_input_items(
        self, team: str, response_id: str, after: str | None, limit: int, order: Order
    ) -> ItemPage | None:
        c = responses.c
        query = select(c.input_items).where(c.team == team, c.id == response_id)
        async with self.engine.connect() as conn:
            raw = (await conn.execute(query)).scalar()
        return None if raw is None else page_items(orjson.loads(raw), after, limit, order)


def _chain_query(team: str, response_id: str, limit: int) -> Any:
    """The chain's rows, the oldest first, each with its depth (1: the response asked for);
    it stops one past ``limit``, so that a longer chain is seen as such."""
    c = responses.c
    columns = (c.id, c.previous_response_id, c.input_items, c.output_items)
    first = select(*columns, literal(1).label("depth")).where(c.team == team, c.id == response_id)
    chain = first.cte("chain", recursive=True)
    older = select(*columns, (chain.c.depth + 1).label("depth")).where(
        c.team == team, c.id == chain.c.previous_response_id, chain.c.depth <= limit
    )
    chain = chain.union_all(older)
    return select(chain).order_by(chain.c.depth.desc())


def stored_row(response: dict[str, Any], team: str, given: list[Any]) -> dict[str, Any]:
    """The ``responses`` row of a Response object the client got, ``given`` its input items:
    ``response_row`` of its ``StoredResponse``, made straight from the object (a call's row
    is made on the hot path, and no record object is needed to commit it)."""
    body = dict(response)
    response_id, output, usage = body.pop("id"), body.pop("output", None), body.pop("usage", None)
    created = body.get("created_at")
    return {
        "id": str(response_id),
        "team": team,
        "created_at": float(created) if isinstance(created, (int, float)) else time.time(),
        "model": str(body.get("model") or ""),
        "previous_response_id": body.get("previous_response_id"),
        "input_items": orjson.dumps(given).decode(),
        "output_items": orjson.dumps(output or []).decode(),
        "usage": None if usage is None else orjson.dumps(usage).decode(),
        "body": orjson.dumps(body).decode(),
    }


def response_row(record: StoredResponse) -> dict[str, Any]:
    """The ``responses`` row of a record: what ``Store.write`` commits with a call's usage
    record (keel.store.ledger), and ``save_response`` on its own."""
    values: dict[str, Any] = {name: getattr(record, name) for name in _FIELDS}
    values["input_items"] = orjson.dumps(record.input_items).decode()
    values["output_items"] = orjson.dumps(record.output_items).decode()
    values["usage"] = None if record.usage is None else orjson.dumps(record.usage).decode()
    values["body"] = orjson.dumps(record.body).decode()
    return values


def _insert(conn: Connection, record: StoredResponse) -> None:
    conn.execute(insert(responses).values(**response_row(record)))


def _delete(conn: Connection, team: str, response_id: str) -> bool:
    c = responses.c
    return bool(conn.execute(delete(responses).where(c.team == team, c.id == response_id)).rowcount)


def _record(m: Any) -> StoredResponse:
    usage = m["usage"]
    return StoredResponse(
        **{name: m[name] for name in _FIELDS},
        input_items=orjson.loads(m["input_items"]),
        output_items=orjson.loads(m["output_items"]),
        usage=None if usage is None else orjson.loads(usage),
        body=orjson.loads(m["body"]),
    )

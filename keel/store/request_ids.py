"""Request ids are unique in the usage records: one id names one call (and its shadow copy).

keel makes a random 96-bit id for a request that brings none, which never collides. A client
may send its own (``x-request-id``) and may send one that is taken: another team's, or its own
from an earlier call. Checking each id before answering would cost a store round trip per
request, so the check is the unique index ``ux_usage_request_id`` (request_id, kind) itself: a
batch holding a taken id fails to commit, and only then does the ledger ask which of its ids are
stored (one query), give the rows whose id is taken fresh ids (their audit records too, before
they are linked again) and commit again. Answers leave after their record commits, so an
answer's ``x-request-id`` names the id recorded; a stream's headers leave before, so a stream
whose id was replaced says so in a comment line before it ends (keel.gateway.streaming).

The same query tells a commit whose acknowledgement was lost (the connection dropped after the
COMMIT) from a taken id: the stored row is this very row (same time and team), so the batch is
in and is not written a second time.
"""

from __future__ import annotations

import enum
import logging
import os
from typing import Any

from sqlalchemy import func, inspect, select, update
from sqlalchemy.engine import Connection

from keel.store.tables import usage
from keel.store.usage import UsageStore

__all__ = ["Taken", "fresh_request_id", "settle_taken", "unique_request_ids"]

log = logging.getLogger("keel.ledger")
store_log = logging.getLogger("keel.store")

Record = dict[str, Any]


class Taken(enum.Enum):
    NONE = "none"  # the failure was not about request ids
    RENAMED = "renamed"  # some rows got fresh ids: commit again
    LANDED = "landed"  # the batch's rows are stored already: it committed


def fresh_request_id() -> str:
    return os.urandom(12).hex()


async def settle_taken(store: UsageStore, usage: list[Record], audit: list[Record]) -> Taken:
    """After a failed commit of ``usage``: give each row whose id is stored for another
    request, or repeats one earlier in the batch, a fresh id (and its audit record too)."""
    if not usage:
        return Taken.NONE
    try:
        stored = await store.stored_request_ids(sorted({row["request_id"] for row in usage}))
    except Exception:  # the store is down: the commit's own retry says so
        return Taken.NONE
    seen: set[tuple[str, str]] = set()
    renamed: list[Record] = []
    for row in usage:
        key = (row["request_id"], row.get("kind", "call"))
        held = stored.get(key)
        if held is not None and held == (row["ts"], row.get("team")) and key not in seen:
            return Taken.LANDED  # all or none of a batch commits: it did
        if held is not None or key in seen:
            renamed.append(row)
        else:
            seen.add(key)
    for row in renamed:
        _rename(row, audit)
    return Taken.RENAMED if renamed else Taken.NONE


def _rename(row: Record, audit: list[Record]) -> None:
    old, new = row["request_id"], fresh_request_id()
    kind = row.get("kind", "call")
    for record in audit:
        if (record.get("request_id"), record.get("kind"), record.get("ts")) == (
            old,
            kind,
            row["ts"],
        ):
            record["request_id"] = new
            break
    row["request_id"] = new
    log.info("request id %r is taken; recorded the %s as %s", old, kind, new)


def unique_request_ids(conn: Connection) -> None:
    """A database made before request ids were unique gets the index at start. A row recorded
    under an id an earlier row of its kind already had gets a fresh id first (logged), as the
    ledger now gives one; the earliest keeps it (its audit record names the id it had)."""
    (index,) = (ix for ix in usage.indexes if ix.name == "ux_usage_request_id")
    if index.name in {ix["name"] for ix in inspect(conn).get_indexes("usage")}:
        return
    c = usage.c
    first = (
        select(c.request_id, c.kind, func.min(c.seq).label("seq"))
        .group_by(c.request_id, c.kind)
        .having(func.count() > 1)
        .subquery()
    )
    on = (c.request_id == first.c.request_id) & (c.kind == first.c.kind) & (c.seq > first.c.seq)
    for seq, old in conn.execute(select(c.seq, c.request_id).join(first, on)).all():
        new = fresh_request_id()
        conn.execute(update(usage).where(c.seq == seq).values(request_id=new))
        store_log.warning("usage row %d had request id %r of an earlier row; now %s", seq, old, new)
    index.create(conn)

"""Request ids are unique in the usage records, on SQLite and PostgreSQL: a row whose id is
taken gets a fresh one (its audit record too) at commit, a shadow copy shares its call's id,
a commit whose answer was lost is not written twice, and older databases are migrated."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from keel.audit.verify import verify
from keel.store import open_store
from keel.store.base import Rows
from keel.store.ledger import Ledger
from keel.store.sql import SQLStore
from tests.audit.conftest import audit_record, ledger_on, make_trail, verifier
from tests.store.conftest import make_row


class LostAnswer(SQLStore):
    """A real store whose next write commits but whose answer never arrives."""

    def __init__(self, inner: SQLStore) -> None:
        super().__init__(inner.engine)
        self.inner = inner
        self.drop_next = False

    async def write(
        self, usage: Rows, audit: Rows = (), checkpoints: Rows = (), responses: Rows = ()
    ) -> None:
        await self.inner.write(usage, audit, checkpoints, responses)
        if self.drop_next:
            self.drop_next = False
            raise ConnectionError("connection reset by peer")


async def calls(store: SQLStore) -> list[tuple[Any, ...]]:
    query = text("SELECT request_id, team, kind FROM usage ORDER BY seq")
    async with store.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(query)]


def paired(i: int, request_id: str, team: str) -> tuple[dict[str, Any], dict[str, Any]]:
    row = make_row(request_id=request_id, team=team)
    return row, audit_record(i, request_id=request_id, team=team, ts=row["ts"])


async def test_an_id_another_team_took_gets_a_fresh_one(store: SQLStore) -> None:
    trail = make_trail()
    alphas, alphas_audit = paired(1, "shared", "alpha")
    betas, betas_audit = paired(2, "shared", "beta")
    async with ledger_on(store, trail) as ledger:
        await ledger.record(alphas, alphas_audit)
        await ledger.record(betas, betas_audit)
    fresh = betas["request_id"]
    assert alphas["request_id"] == "shared" and fresh != "shared"
    assert await calls(store) == [("shared", "alpha", "call"), (fresh, "beta", "call")]
    # The audit record names the id recorded, and the chain still verifies.
    async with store.engine.connect() as conn:
        audited = [r[0] for r in await conn.execute(text("SELECT record FROM audit ORDER BY seq"))]
    assert '"request_id":"shared"' in audited[0] and f'"request_id":"{fresh}"' in audited[1]
    (report,) = await verify(store, verifier())
    assert report.problem is None


async def test_an_id_repeated_in_one_batch_is_recorded_once_as_sent(store: SQLStore) -> None:
    ledger = Ledger(store)
    await ledger.start()
    rows = [make_row(request_id="again", team=team) for team in ("alpha", "alpha", "beta")]
    try:
        await asyncio.gather(*(ledger.record(row) for row in rows))
    finally:
        await ledger.close()
    ids = [row["request_id"] for row in rows]
    assert ids[0] == "again" and len(set(ids)) == 3
    assert sorted(r[0] for r in await calls(store)) == sorted(ids)


async def test_a_shadow_copy_shares_its_calls_id(store: SQLStore) -> None:
    call, shadow = make_row(request_id="twin"), make_row(request_id="twin", kind="shadow")
    ledger = Ledger(store)
    await ledger.start()
    try:
        await ledger.record(call)
        await ledger.record(shadow)
    finally:
        await ledger.close()
    assert await calls(store) == [("twin", "alpha", "call"), ("twin", "alpha", "shadow")]
    assert await store.call_team("twin") == "alpha"


async def test_the_team_of_a_call(store: SQLStore) -> None:
    await store.write_usage([make_row(request_id="mine", team="beta"),
                             make_row(request_id="copy", kind="shadow")])  # fmt: skip
    assert await store.call_team("mine") == "beta"
    assert await store.call_team("copy") is None  # a shadow copy is no call to give feedback on
    assert await store.call_team("nobody") is None


async def test_a_commit_whose_answer_was_lost_is_not_written_twice(store: SQLStore) -> None:
    lossy = LostAnswer(store)
    ledger = Ledger(lossy)  # no audit trail, so no chain head to recognise the commit by
    await ledger.start()
    try:
        lossy.drop_next = True
        await ledger.record(make_row(request_id="once"))
        await ledger.record(make_row(request_id="next"))
    finally:
        await ledger.close()
    assert [r[0] for r in await calls(store)] == ["once", "next"]


async def test_a_database_with_repeated_ids_is_migrated_at_start(store_url: str) -> None:
    old = open_store(store_url)
    await old.start()
    assert isinstance(old, SQLStore)
    async with old.engine.begin() as conn:  # what an older keel made: no unique index
        await conn.execute(text("DROP INDEX ux_usage_request_id"))
    rows = [make_row(request_id="dup", team="alpha"), make_row(request_id="dup", team="beta"),
            make_row(request_id="dup", kind="shadow"), make_row(request_id="solo")]  # fmt: skip
    await old.write_usage(rows)
    await old.close()

    new = open_store(store_url)
    await new.start()
    try:
        assert isinstance(new, SQLStore)
        stored = await calls(new)
        assert stored[0] == ("dup", "alpha", "call")  # the first keeps its id
        assert stored[1][0] != "dup" and stored[1][1:] == ("beta", "call")
        assert stored[2:] == [("dup", "alpha", "shadow"), ("solo", "alpha", "call")]
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            await new.write_usage([make_row(request_id="solo", team="gamma")])
    finally:
        await new.close()

"""The ledger keeps the audit chain: links on commit only, one transaction with usage, signed
at start and close; a failed or doubtful commit leaves no gap and no fork. Both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest

from keel.audit.verify import verify
from keel.store.audit import AuditRow
from keel.store.base import Rows
from keel.store.ledger import Ledger, RecordNotCommitted
from keel.store.sql import SQLStore
from tests.audit.conftest import audit_record, ledger_on, make_trail, verifier
from tests.store.conftest import make_row


class FailingStore(SQLStore):
    """A real SQL store whose database drops the next ``failures`` writes."""

    def __init__(self, inner: SQLStore, failures: int = 0) -> None:
        super().__init__(inner.engine)
        self.failures = failures

    async def write(
        self, usage: Rows, audit: Rows = (), checkpoints: Rows = (), responses: Rows = ()
    ) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("connection reset by peer")
        await super().write(usage, audit, checkpoints, responses)


class LostAcknowledgement(SQLStore):
    """A real SQL store whose connection drops right after the next audit COMMIT, and whose
    next ``head_failures`` reads of a chain's head fail too."""

    def __init__(self, inner: SQLStore) -> None:
        super().__init__(inner.engine)
        self.drop_next = False
        self.head_failures = 0

    async def write(
        self, usage: Rows, audit: Rows = (), checkpoints: Rows = (), responses: Rows = ()
    ) -> None:
        await super().write(usage, audit, checkpoints, responses)
        if self.drop_next and audit:
            self.drop_next = False
            raise ConnectionError("server closed the connection unexpectedly")

    async def audit_head(self, writer: str) -> AuditRow | None:
        if self.head_failures > 0:
            self.head_failures -= 1
            raise ConnectionError("connection refused")
        return await super().audit_head(writer)


async def chain_of(store: SQLStore, writer: str) -> list[tuple[int, str]]:
    """(seq, request id) of the writer's records."""
    rows = await store.audit_records(writer, 0, 10_000)
    return [(r.seq, orjson.loads(r.record)["request_id"]) for r in rows]


async def test_concurrent_records_form_one_chain_that_verifies(store: SQLStore) -> None:
    trail = make_trail()
    async with ledger_on(store, trail) as ledger:
        await asyncio.gather(
            *(ledger.record(make_row(request_id=f"req-{i}"), audit_record(i)) for i in range(200))
        )
        assert 1 <= ledger.commits <= 20  # the audit rows shared the usage rows' commits
    assert await store.count_usage() == 200
    chain = await chain_of(store, trail.chain.writer)
    assert [seq for seq, _ in chain] == list(range(1, 201))
    assert {rid for _, rid in chain} == {f"req-{i}" for i in range(200)}
    (report,) = await verify(store, verifier())
    assert report.problem is None and (report.checkpoints, report.signed_seq) == (
        3,
        200,
    )  # start, close, final


async def test_a_batch_that_never_commits_leaves_no_gap(store: SQLStore) -> None:
    flaky = FailingStore(store)
    trail = make_trail()
    async with ledger_on(flaky, trail) as ledger:
        await ledger.record(make_row(request_id="req-1"), audit_record(1))
        flaky.failures = 3  # every try of the next batch
        with pytest.raises(RecordNotCommitted):
            await ledger.record(make_row(request_id="lost"), audit_record(2, request_id="lost"))
        await ledger.record(make_row(request_id="req-3"), audit_record(3))
    assert await chain_of(store, trail.chain.writer) == [(1, "req-1"), (2, "req-3")]
    assert await store.count_usage() == 2
    (report,) = await verify(store, verifier())
    assert report.problem is None


async def test_a_commit_whose_answer_was_lost_counts_once(store: SQLStore) -> None:
    doubtful = LostAcknowledgement(store)
    trail = make_trail()
    async with ledger_on(doubtful, trail) as ledger:
        await ledger.record(make_row(request_id="req-1"), audit_record(1))
        doubtful.drop_next = True
        await ledger.record(make_row(request_id="req-2"), audit_record(2))  # found committed
        await ledger.record(make_row(request_id="req-3"), audit_record(3))
    assert await chain_of(store, trail.chain.writer) == [(1, "req-1"), (2, "req-2"), (3, "req-3")]
    assert await store.count_usage() == 3  # not written twice
    (report,) = await verify(store, verifier())
    assert report.problem is None


async def test_a_lost_answer_unconfirmed_at_first_is_recognised_on_the_retry(
    store: SQLStore,
) -> None:
    doubtful = LostAcknowledgement(store)
    trail = make_trail()
    async with ledger_on(doubtful, trail) as ledger:
        doubtful.drop_next, doubtful.head_failures = True, 1
        await ledger.record(make_row(request_id="req-1"), audit_record(1))  # the retry collides
        await ledger.record(make_row(request_id="req-2"), audit_record(2))
    assert await chain_of(store, trail.chain.writer) == [(1, "req-1"), (2, "req-2")]
    assert await store.count_usage() == 2


async def test_a_commit_taken_for_failed_is_built_on_not_forked(store: SQLStore) -> None:
    doubtful = LostAcknowledgement(store)
    trail = make_trail()
    async with ledger_on(doubtful, trail) as ledger:
        doubtful.drop_next, doubtful.head_failures = True, 3  # no try can confirm it
        with pytest.raises(RecordNotCommitted):
            await ledger.record(make_row(request_id="req-1"), audit_record(1))
        await ledger.record(make_row(request_id="req-2"), audit_record(2))
    # req-1 did land: the chain carries on after it instead of refusing every later batch.
    assert await chain_of(store, trail.chain.writer) == [(1, "req-1"), (2, "req-2")]
    (report,) = await verify(store, verifier())
    assert report.problem is None


async def test_an_admin_action_is_chained_without_a_usage_row(store: SQLStore) -> None:
    trail = make_trail()
    async with ledger_on(store, trail) as ledger:
        await ledger.record(make_row(), audit_record(1))
        await ledger.audit({"kind": "admin", "action": "keys.revoke", "actor": "ops@example"})
        with pytest.raises(ValueError, match="seq"):
            await ledger.audit({"kind": "admin", "seq": 7})
        with pytest.raises(TypeError):
            await ledger.audit({"kind": "admin", "when": datetime.now(UTC)})
    rows = await store.audit_records(trail.chain.writer, 0, 10)
    admin = orjson.loads(rows[-1].record)
    assert (admin["seq"], admin["action"], admin["actor"]) == (2, "keys.revoke", "ops@example")
    assert isinstance(admin["ts"], float)
    assert await store.count_usage() == 1


async def test_without_a_trail_only_usage_is_written(store: SQLStore) -> None:
    ledger = Ledger(store)
    await ledger.start()
    try:
        assert not ledger.audited
        await ledger.record(make_row(), audit_record(1))
        await ledger.audit({"kind": "admin"})
        await ledger.checkpoint()
    finally:
        await ledger.close()
    assert await store.count_usage() == 1
    assert await store.audit_writers() == []


async def test_checkpoints_at_start_on_request_and_at_close(store: SQLStore) -> None:
    trail = make_trail()
    async with ledger_on(store, trail) as ledger:
        assert [c.seq for c in await store.audit_checkpoints(trail.chain.writer)] == [0]
        await ledger.record(make_row(), audit_record(1))
        await ledger.checkpoint()
        await ledger.checkpoint()  # idle: the same head again, signed anew
        await ledger.record(make_row(), audit_record(2))
    checkpoints = await store.audit_checkpoints(trail.chain.writer)
    assert [c.seq for c in checkpoints] == [0, 1, 1, 2, 2]
    assert [c.final for c in checkpoints] == [False] * 4 + [True]  # a clean stop signs its end
    assert checkpoints[1].ts < checkpoints[2].ts


async def test_writers_vouch_for_each_others_latest_checkpoints(store: SQLStore) -> None:
    first, second = make_trail(writer="w-1"), make_trail(writer="w-2")
    async with ledger_on(store, first) as one:
        await one.record(make_row(), audit_record(1))
        await one.checkpoint()
        async with ledger_on(store, second) as two:
            await two.record(make_row(), audit_record(1))
            await one.checkpoint()
            latest = await store.audit_latest_checkpoints(0.0, 10)
            assert sorted((row.writer, row.n) for row in latest) == [("w-1", 2), ("w-2", 0)]
    seen = {
        (row.writer, row.n): [v[:2] for v in orjson.loads(row.vouch or "[]")]
        for writer in ("w-1", "w-2")
        for row in await store.audit_checkpoints(writer)
    }
    assert seen[("w-2", 0)] == [["w-1", 1]]  # its start saw w-1's newest
    assert seen[("w-1", 2)] == [["w-2", 0]]
    assert [r.problem for r in await verify(store, verifier())] == [None, None]

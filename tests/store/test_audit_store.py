"""The audit tables on SQLite and PostgreSQL: usage, audit and checkpoints in one transaction,
and the reads verify and export page through."""

from __future__ import annotations

import pytest

from keel.audit.chain import Chain
from keel.audit.checkpoint import Signer
from keel.store.audit import AuditRow
from keel.store.sql import SQLStore
from tests.audit.conftest import KEY, audit_record
from tests.store.conftest import make_row


def linked(chain: Chain, n: int) -> list[dict[str, object]]:
    rows, head = chain.link([audit_record(i) for i in range(n)])
    chain.advance(head)
    return rows


async def test_usage_audit_and_checkpoints_commit_together(store: SQLStore) -> None:
    chain = Chain("w1")
    rows = linked(chain, 3)
    checkpoint = Signer(KEY, "k1").checkpoint("w1", chain.head)
    await store.write([make_row(), make_row()], rows, [checkpoint])
    assert await store.count_usage() == 2
    stored = await store.audit_records("w1", 0, 10)
    assert [r.seq for r in stored] == [1, 2, 3]
    assert stored[0] == AuditRow(**rows[0])  # type: ignore[arg-type]
    head = await store.audit_head("w1")
    assert head is not None and (head.seq, head.hash) == (3, chain.head.hash)
    (cp,) = await store.audit_checkpoints("w1")
    assert (cp.seq, cp.head, cp.ts, cp.signature) == (
        3, chain.head.hash, checkpoint["ts"], checkpoint["signature"]
    )  # fmt: skip


async def test_a_transaction_that_fails_keeps_nothing(store: SQLStore) -> None:
    chain = Chain("w1")
    await store.write([make_row()], linked(chain, 1))
    again = Chain("w1")  # a second writer claiming the same id and seq: refused
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await store.write([make_row(), make_row()], linked(again, 1))
    assert await store.count_usage() == 1
    assert len(await store.audit_records("w1", 0, 10)) == 1


async def test_records_page_by_seq_and_writers_are_listed(store: SQLStore) -> None:
    a, b = Chain("a"), Chain("b")
    await store.write([], linked(a, 5) + linked(b, 2))
    await store.write([], [], [Signer(KEY, "k1").checkpoint("c", Chain("c").head)])
    assert await store.audit_writers() == ["a", "b", "c"]  # c: a checkpoint, no records yet
    assert [r.seq for r in await store.audit_records("a", 2, 2)] == [3, 4]
    assert await store.audit_records("b", 2, 10) == []
    assert await store.audit_head("c") is None


async def test_export_reads_by_time_then_writer_then_seq(store: SQLStore) -> None:
    a, b = Chain("a"), Chain("b")
    first = linked(a, 2) + linked(b, 2)  # a link() call stamps its rows with one time
    late = linked(a, 1)
    await store.write([], first + late)
    since = float(first[0]["ts"])  # type: ignore[arg-type]
    page = await store.audit_since(since, None, None, 3)
    assert [(r.writer, r.seq) for r in page] == [("a", 1), ("a", 2), ("b", 1)]
    rest = await store.audit_since(since, None, page[-1], 3)
    assert [(r.writer, r.seq) for r in rest] == [("b", 2), ("a", 3)]
    only_a = await store.audit_since(since, "a", None, 10)
    assert [r.seq for r in only_a] == [1, 2, 3]
    assert await store.audit_since(float(late[0]["ts"]) + 1, None, None, 10) == []  # type: ignore[arg-type]

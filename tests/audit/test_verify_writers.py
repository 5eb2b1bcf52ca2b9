"""keel audit verify across writers: numbered checkpoints, writers vouching for each other, and
the witness file. Each tampering here passed verify before checkpoints were numbered, vouched
and witnessed: a cut tail with its checkpoints looked like a killed writer, a whole writer
deleted left nothing to compare."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from keel.audit import witness
from keel.audit.chain import Chain
from keel.audit.checkpoint import Signer
from keel.audit.trail import Trail
from keel.audit.verify import ChainReport, render, verify
from keel.store.ledger import RecordNotCommitted
from keel.store.sqlite import SQLiteStore
from tests.audit.conftest import KEY, KEY_ID, audit_record, ledger_on, make_trail, verifier
from tests.store.conftest import make_row
from tests.store.test_audit_ledger import FailingStore

A, B = "host-a:1:aaaa0001", "host-b:2:bbbb0002"


def trail(writer: str, witness_file: Path | None = None) -> Trail:
    return Trail(Chain(writer), Signer(KEY, KEY_ID), 3600, witness_file)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'keel.db'}")
    await store.start()
    yield store
    await store.close()


async def two_writers(store: SQLiteStore, witness_file: Path | None = None) -> None:
    """A runs alone (3 records), then beside B: each checkpoints after the other, so each
    vouches for the other's newest; A writes 3 more and stops, then B stops."""
    async with ledger_on(store, trail(A, witness_file)) as a:
        for i in range(1, 4):
            await a.record(make_row(request_id=f"a-{i}"), audit_record(i))
        await a.checkpoint()  # A n=1
        async with ledger_on(store, trail(B, witness_file)) as b:  # B n=0 vouches A n=1
            await b.record(make_row(request_id="b-1"), audit_record(1))
            for i in range(4, 7):
                await a.record(make_row(request_id=f"a-{i}"), audit_record(i))
            await a.checkpoint()  # A n=2 vouches B n=0
            await b.checkpoint()  # B n=1 vouches A n=2
        # B's final (n=2) is read by A's final checkpoint (n=3), which B never sees


def sql(store: SQLiteStore, statement: str, *args: object) -> None:
    with sqlite3.connect(store.path) as conn:
        conn.execute(statement, args)


def checkpoints(store: SQLiteStore, writer: str) -> list[tuple[int, int, str | None]]:
    with sqlite3.connect(store.path) as conn:
        query = "SELECT n, seq, vouch FROM audit_checkpoints WHERE writer = ? ORDER BY id"
        return list(conn.execute(query, (writer,)))


async def report_of(store: SQLiteStore, writer: str, **kw: object) -> ChainReport:
    reports = {r.writer: r for r in await verify(store, verifier(), **kw)}  # type: ignore[arg-type]
    return reports[writer]


async def test_checkpoints_are_numbered_and_vouch_for_the_other_writers(
    store: SQLiteStore,
) -> None:
    await two_writers(store)
    a, b = checkpoints(store, A), checkpoints(store, B)
    assert [n for n, _, _ in a] == [0, 1, 2, 3, 4]  # start, two asked, the close, the final
    assert [n for n, _, _ in b] == [0, 1, 2, 3]
    vouched = [[w for w, _, _ in orjson.loads(v)] for _, _, v in b]
    assert vouched[0] == [A]  # B's start saw A's checkpoint 1
    reports = await verify(store, verifier())
    assert [r.problem for r in reports] == [None, None]
    assert render(reports).startswith("ok   ")


async def test_a_cut_tail_with_its_checkpoints_is_caught_by_the_other_writer(
    store: SQLiteStore,
) -> None:
    await two_writers(store)
    # Cut A back to seq 3 and delete every checkpoint of A that covered the rest: alone,
    # A now looks like a writer killed after seq 3. B saw A's later checkpoints.
    sql(store, "DELETE FROM audit WHERE writer = ? AND seq > 3", A)
    sql(store, "DELETE FROM audit_checkpoints WHERE writer = ? AND n > 1", A)
    report = await report_of(store, A)
    assert report.problem is not None, "the cut went unnoticed"
    assert f"which writer {B}'s checkpoint" in report.problem.what
    assert "is not in the store (its last is 1): the writer's tail was cut" in report.problem.what


async def test_a_whole_writer_deleted_is_caught(store: SQLiteStore) -> None:
    await two_writers(store)
    sql(store, "DELETE FROM audit WHERE writer = ?", B)
    sql(store, "DELETE FROM audit_checkpoints WHERE writer = ?", B)
    report = await report_of(store, B)
    assert report.problem is not None, "the deleted writer went unnoticed"
    assert "holds no record or checkpoint of this writer" in report.problem.what
    assert f"but writer {A}'s checkpoint" in report.problem.what
    assert f"BAD  {B}: seq 0: " in render([report])


async def test_a_deleted_checkpoint_is_a_gap_in_the_numbers(store: SQLiteStore) -> None:
    await two_writers(store)
    sql(store, "DELETE FROM audit_checkpoints WHERE writer = ? AND n = 1", B)
    report = await report_of(store, B)
    assert report.problem is not None
    assert "numbered 2, so this writer's checkpoint(s) 1 are missing: deleted" in (
        report.problem.what
    )


async def test_a_lone_writer_cut_with_its_checkpoints_is_caught_only_by_a_witness(
    store: SQLiteStore, tmp_path: Path
) -> None:
    witness_file = tmp_path / "witness.jsonl"
    async with ledger_on(store, trail(A, witness_file)) as a:
        for i in range(1, 7):
            await a.record(make_row(request_id=f"a-{i}"), audit_record(i))
            if i == 3:
                await a.checkpoint()
    sql(store, "DELETE FROM audit WHERE seq > 3")
    sql(store, "DELETE FROM audit_checkpoints WHERE n > 1")
    # The store alone cannot tell this from a writer killed after seq 3 (the documented
    # limit of a store-only audit) ...
    alone = await report_of(store, A)
    assert (alone.problem, alone.signed_seq) == (None, 3)
    # ... the witness can.
    newest, bad = witness.newest(witness_file)
    assert (newest[A].n, bad) == (3, [])
    cut = await report_of(store, A, witnessed=newest)
    assert cut.problem is not None
    assert "its checkpoint 3, which the witness saw, is not in the store" in cut.problem.what


async def test_a_store_rolled_back_across_writers_is_caught_by_the_witness(
    store: SQLiteStore, tmp_path: Path
) -> None:
    witness_file = tmp_path / "witness.jsonl"
    await two_writers(store, witness_file)
    # Everything after B's start deleted on both writers, and B whole: consistent in itself.
    sql(store, "DELETE FROM audit WHERE writer = ? AND seq > 3", A)
    sql(store, "DELETE FROM audit_checkpoints WHERE writer = ? AND n > 1", A)
    sql(store, "DELETE FROM audit WHERE writer = ?", B)
    sql(store, "DELETE FROM audit_checkpoints WHERE writer = ?", B)
    assert [r.problem for r in await verify(store, verifier())] == [None]
    newest, _ = witness.newest(witness_file)
    reports = {r.writer: r for r in await verify(store, verifier(), newest)}
    assert reports[A].problem is not None and reports[B].problem is not None
    assert "which the witness saw" in reports[A].problem.what
    assert "the witness saw its checkpoint 3: the whole writer was deleted" in (
        reports[B].problem.what
    )


async def test_an_altered_witness_line_does_not_verify(store: SQLiteStore, tmp_path: Path) -> None:
    witness_file = tmp_path / "witness.jsonl"
    async with ledger_on(store, trail(A, witness_file)) as a:
        await a.record(make_row(request_id="a-1"), audit_record(1))
    lines = witness_file.read_bytes().splitlines()
    assert len(lines) == 3  # start, close, final
    forged = orjson.loads(lines[-1])
    forged["seq"] = 9
    witness_file.write_bytes(b"\n".join([*lines[:-1], orjson.dumps(forged), b"not json"]))
    newest, bad = witness.newest(witness_file)
    assert bad == [4]
    report = await report_of(store, A, witnessed=newest)
    assert report.problem is not None
    assert "the witness's checkpoint 2: its signature does not verify" in report.problem.what


async def test_a_failed_checkpoint_commit_does_not_use_up_its_number(
    store: SQLiteStore,
) -> None:
    failing = FailingStore(store)
    async with ledger_on(failing, make_trail(writer=A)) as ledger:
        failing.failures = ledger.attempts  # every try of the next commit fails
        with pytest.raises(RecordNotCommitted):
            await ledger.checkpoint()
        await ledger.record(make_row(request_id="a-1"), audit_record(1))
        await ledger.checkpoint()
    assert [n for n, _, _ in checkpoints(store, A)] == [0, 1, 2, 3]
    assert [r.problem for r in await verify(store, verifier())] == [None]

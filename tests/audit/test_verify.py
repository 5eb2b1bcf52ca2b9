"""keel audit verify on a store tampered with directly: each tampering is caught, the first bad
record named (writer, seq, request id, what is wrong)."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keel.audit.canonical import canonical
from keel.audit.chain import ZERO, link_hash
from keel.audit.checkpoint import signed_bytes
from keel.audit.verify import ChainReport, Problem, render, verify
from keel.store.sqlite import SQLiteStore
from tests.audit.conftest import KEY, audit_record, ledger_on, make_trail, verifier
from tests.store.conftest import make_row

WRITER = "host-a:100:cafe0001"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """Six records of one writer; checkpoints at its start, after seq 3 and at close (seq 6)."""
    store = SQLiteStore(f"sqlite:///{tmp_path / 'keel.db'}")
    await store.start()
    async with ledger_on(store, make_trail(writer=WRITER)) as ledger:
        for i in range(1, 7):
            await ledger.record(make_row(request_id=f"req-{i}"), audit_record(i))
            if i == 3:
                await ledger.checkpoint()
    yield store
    await store.close()


def sql(store: SQLiteStore, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Tamper with the file directly, as someone with access to it would."""
    with sqlite3.connect(store.path) as conn:
        for statement, args in statements:
            conn.execute(statement, args)


def rows(store: SQLiteStore) -> dict[int, tuple[float, str, str, str]]:
    with sqlite3.connect(store.path) as conn:
        found = conn.execute("SELECT seq, ts, prev, hash, record FROM audit ORDER BY seq")
        return {seq: (ts, prev, digest, record) for seq, ts, prev, digest, record in found}


async def problem(store: SQLiteStore, **keys: Ed25519PrivateKey) -> Problem:
    (report,) = await verify(store, verifier(**keys))
    assert report.writer == WRITER
    assert report.problem is not None, "the tampering went unnoticed"
    assert "BAD  " + WRITER in render([report])
    return report.problem


async def test_an_untouched_trail_verifies(store: SQLiteStore) -> None:
    (report,) = await verify(store, verifier())
    # start, after seq 3, at close, and the final one that signs the end
    assert report == ChainReport(WRITER, records=6, checkpoints=4, signed_seq=6, problem=None)
    assert render([report]).endswith("keel audit: ok: 1 chain(s), 6 record(s) verified")


async def test_an_edited_field_is_caught_at_its_record(store: SQLiteStore) -> None:
    sql(store, ("UPDATE audit SET record = replace(record, '\"team\":\"alpha\"', "
                "'\"team\":\"beta\"') WHERE seq = 4", ()))  # fmt: skip
    found = await problem(store)
    assert (found.seq, found.request_id) == (4, "req-4")
    assert "edited" in found.what


async def test_a_deleted_record_is_caught_at_the_one_after_it(store: SQLiteStore) -> None:
    sql(store, ("DELETE FROM audit WHERE seq = 2", ()))
    found = await problem(store)
    assert (found.seq, found.request_id) == (3, "req-3")
    assert "seq 2, are missing: deleted" in found.what


async def test_an_inserted_record_is_caught(store: SQLiteStore) -> None:
    # A careful forger: makes room at seq 5 and links the new record properly onto seq 4.
    before = rows(store)
    sql(store, *((f"UPDATE audit SET seq = {s + 1} WHERE seq = {s}", ()) for s in (6, 5)))
    ts, _, prev, _ = before[4]
    text = canonical({**audit_record(99), "writer": WRITER, "seq": 5, "logged_at": ts})
    sql(store, ("INSERT INTO audit (writer, seq, ts, prev, hash, record) VALUES (?,?,?,?,?,?)",
                (WRITER, 5, ts, prev, link_hash(prev, text), text.decode())))  # fmt: skip
    found = await problem(store)
    assert (found.seq, found.request_id) == (6, "req-5")
    assert "inserted" in found.what


async def test_a_record_inserted_before_a_checkpoint_is_caught_by_it(store: SQLiteStore) -> None:
    before = rows(store)
    sql(store, *((f"UPDATE audit SET seq = {s + 1} WHERE seq = {s}", ()) for s in range(6, 2, -1)))
    ts, _, prev, _ = before[2]
    text = canonical({**audit_record(99), "writer": WRITER, "seq": 3, "logged_at": ts})
    sql(store, ("INSERT INTO audit (writer, seq, ts, prev, hash, record) VALUES (?,?,?,?,?,?)",
                (WRITER, 3, ts, prev, link_hash(prev, text), text.decode())))  # fmt: skip
    found = await problem(store)
    assert found.seq == 3  # the forged record links well, but the checkpoint of seq 3 knows
    assert "records up to seq 3" in found.what


async def test_two_reordered_records_are_caught(store: SQLiteStore) -> None:
    before = rows(store)
    swap = "UPDATE audit SET ts = ?, prev = ?, hash = ?, record = ? WHERE seq = ?"
    sql(store, (swap, (*before[4], 3)), (swap, (*before[3], 4)))
    found = await problem(store)
    assert (found.seq, found.request_id) == (3, "req-4")
    assert "reordered" in found.what


async def test_a_truncated_tail_is_caught_by_the_checkpoint_beyond_it(store: SQLiteStore) -> None:
    sql(store, ("DELETE FROM audit WHERE seq > 4", ()))
    found = await problem(store)
    assert found.seq == 6
    assert "the chain ends at seq 4: records 5-6 were removed (the tail was truncated)" in (
        found.what
    )


async def test_a_recomputed_chain_is_caught_by_the_next_checkpoint(store: SQLiteStore) -> None:
    rechain(store, edit_seq=2)
    found = await problem(store)
    assert found.seq == 3  # the checkpoint after seq 3 vouches for the original head
    assert "changed and the chain recomputed" in found.what


async def test_a_replaced_checkpoint_does_not_verify(store: SQLiteStore) -> None:
    # The forger recomputes the chain and signs the new heads with a key of their own,
    # under the key id keel uses.
    new_heads = rechain(store, edit_seq=2)
    forger = Ed25519PrivateKey.generate()
    with sqlite3.connect(store.path) as conn:
        for cid, seq, ts, key_id in list(
            conn.execute("SELECT id, seq, ts, key_id FROM audit_checkpoints WHERE seq > 0")
        ):
            head = new_heads[seq]
            signature = forger.sign(signed_bytes(WRITER, seq, head, ts, key_id))
            conn.execute(
                "UPDATE audit_checkpoints SET head = ?, signature = ? WHERE id = ?",
                (head, base64.b64encode(signature).decode(), cid),
            )
    found = await problem(store)
    assert found.seq == 3
    assert "signature does not verify with key 'k1'" in found.what


async def test_checkpoints_by_an_unknown_key_are_caught(store: SQLiteStore) -> None:
    found = await problem(store, k2=KEY)  # the verifier knows the key, but as k2 only
    assert found.seq == 0
    assert "key id 'k1', which is neither audit.key_id nor in audit.verify_keys" in found.what


async def test_the_wrong_public_key_for_a_key_id_is_caught(store: SQLiteStore) -> None:
    found = await problem(store, k1=Ed25519PrivateKey.generate())
    assert found.seq == 0 and "does not verify" in found.what


async def test_an_edited_ts_column_is_caught(store: SQLiteStore) -> None:
    sql(store, ("UPDATE audit SET ts = ts - 86400 WHERE seq = 5", ()))  # hide it from export
    found = await problem(store)
    assert (found.seq, found.request_id) == (5, "req-5")
    assert "ts column differs" in found.what


async def test_a_chain_made_up_whole_is_caught_for_having_no_checkpoint(
    store: SQLiteStore,
) -> None:
    prev, ts = ZERO, 1_000.0
    for seq in (1, 2):
        text = canonical({**audit_record(seq), "writer": "forged", "seq": seq, "logged_at": ts})
        digest = link_hash(prev, text)
        sql(store, ("INSERT INTO audit VALUES (?,?,?,?,?,?)",
                    ("forged", seq, ts, prev, digest, text.decode())))  # fmt: skip
        prev = digest
    forged, real = sorted(await verify(store, verifier()), key=lambda r: r.writer != "forged")
    assert real.problem is None
    assert forged.problem is not None and forged.problem.seq == 1
    assert "no signed checkpoint at all" in forged.problem.what


async def test_a_record_not_written_by_keel_is_caught_even_past_the_checkpoints(
    store: SQLiteStore,
) -> None:
    # Past the last checkpoint a forger can relink what they like (verify says such records
    # cannot be proven), but a record keel did not write shows it.
    sql(store, ("DELETE FROM audit_checkpoints WHERE seq = 6", ()))
    _, prev, _, text = rows(store)[6]
    loose = orjson.dumps(orjson.loads(text), option=orjson.OPT_INDENT_2).decode()
    sql(store, ("UPDATE audit SET record = ?, hash = ? WHERE seq = 6",
                (loose, link_hash(prev, loose.encode()))))  # fmt: skip
    found = await problem(store)
    assert (found.seq, found.request_id) == (6, "req-6")
    assert "not in canonical JSON" in found.what


async def test_records_after_the_last_checkpoint_are_reported_unproven(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'keel.db'}")
    await store.start()
    try:
        async with ledger_on(store, make_trail(writer=WRITER)) as ledger:
            await ledger.record(make_row(), audit_record(1))
            await ledger.checkpoint()
            await ledger.record(make_row(), audit_record(2))
            await ledger.record(make_row(), audit_record(3))
            (report,) = await verify(store, verifier())  # before the closing checkpoint
        assert (report.problem, report.records, report.signed_seq) == (None, 3, 1)
        text = render([report])
        assert "the last 2 (seq 2-3) come after its last checkpoint and cannot be proven" in text
        # Unsigned records are never counted as verified; they are named apart.
        assert text.endswith(
            f"keel audit: ok: 1 chain(s), 1 record(s) verified\n"
            f"keel audit: not yet vouched for: 2 records of writer {WRITER} after seq 1"
        )
    finally:
        await store.close()


def rechain(store: SQLiteStore, edit_seq: int) -> dict[int, str]:
    """Edit one record and recompute every link after it; the new head of each seq."""
    heads: dict[int, str] = {0: ZERO}
    with sqlite3.connect(store.path) as conn:
        for seq, text in list(conn.execute("SELECT seq, record FROM audit ORDER BY seq")):
            record = orjson.loads(text)
            if seq == edit_seq:
                record["cost_usd"] = 0.0
            body = canonical(record)
            heads[seq] = link_hash(heads[seq - 1], body)
            conn.execute(
                "UPDATE audit SET prev = ?, hash = ?, record = ? WHERE seq = ?",
                (heads[seq - 1], heads[seq], body.decode(), seq),
            )
    return heads


async def test_a_forged_record_after_the_signed_final_head_is_caught(store: SQLiteStore) -> None:
    # The writer closed cleanly and signed its end at seq 6; a record linked well onto it is
    # not "not yet signed": nothing may follow a final head.
    ts, _, head, _ = rows(store)[6]
    text = canonical({**audit_record(7), "writer": WRITER, "seq": 7, "logged_at": ts + 1})
    sql(store, ("INSERT INTO audit (writer, seq, ts, prev, hash, record) VALUES (?,?,?,?,?,?)",
                (WRITER, 7, ts + 1, head, link_hash(head, text), text.decode())))  # fmt: skip
    found = await problem(store)
    assert (found.seq, found.request_id) == (7, "req-7")
    assert "after the writer's signed final head (seq 6)" in found.what

"""The hash chain: numbered from 1, each record linked to the one before, moved on commit only."""

from __future__ import annotations

import hashlib
import os
import socket

import orjson

from keel.audit.canonical import canonical
from keel.audit.chain import ZERO, Chain, new_writer_id
from keel.store.audit import Head


def records(n: int) -> list[dict[str, object]]:
    return [{"request_id": f"r{i}", "ts": 1000.0 + i} for i in range(n)]


def test_the_first_record_is_seq_1_after_64_zeros() -> None:
    rows, head = Chain("w").link(records(1))
    (row,) = rows
    assert (row["writer"], row["seq"], row["prev"]) == ("w", 1, ZERO)
    assert ZERO == "0" * 64
    assert head == Head(1, row["hash"])


def test_each_hash_is_sha256_of_prev_and_the_canonical_record() -> None:
    rows, _ = Chain("w").link(records(3))
    prev = ZERO
    for seq, row in enumerate(rows, start=1):
        record = orjson.loads(row["record"])
        assert (record["writer"], record["seq"], record["logged_at"]) == ("w", seq, row["ts"])
        assert row["record"].encode() == canonical(record)
        assert row["prev"] == prev
        assert row["hash"] == hashlib.sha256(prev.encode() + row["record"].encode()).hexdigest()
        prev = row["hash"]


def test_the_head_moves_only_when_told_the_rows_are_committed() -> None:
    chain = Chain("w")
    first, head = chain.link(records(2))
    again, _ = chain.link(records(2))  # the commit failed: the same numbers, the same prev
    assert [r["seq"] for r in again] == [1, 2] and again[0]["prev"] == ZERO
    chain.advance(head)
    after, _ = chain.link(records(1))
    assert after[0]["seq"] == 3 and after[0]["prev"] == first[-1]["hash"]


def test_the_records_handed_in_are_not_changed() -> None:
    given = records(1)
    Chain("w").link(given)
    assert given == [{"request_id": "r0", "ts": 1000.0}]


def test_a_writer_id_names_host_and_process_and_is_unique() -> None:
    host, pid, tag = new_writer_id().rsplit(":", 2)
    assert host == socket.gethostname()[:64] and pid == str(os.getpid()) and len(tag) == 8
    assert new_writer_id() != new_writer_id()

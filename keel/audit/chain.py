"""The hash chain: one per writing process, each record linked to the one before it.

A record's link is ``hash = SHA-256(prev + canonical(record))`` in lowercase hex, where ``prev``
is the previous record's hash (64 zeros before the first) as 64 ASCII bytes, and the record
carries its place: ``writer`` (the chain's id), ``seq`` (1, 2, 3 … with no gaps) and
``logged_at`` (when it was linked). Changing, removing, adding or moving a record breaks a link
from there on; recomputing the links after it is caught by the next signed checkpoint.

The chain advances only when the records it linked are committed (``advance``): a batch that
fails to commit leaves the head where it was, so its records are linked again, with the same
numbers, in the next try. No gap and no fork appear.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from typing import Any

from keel.audit.canonical import canonical
from keel.store.audit import Head

__all__ = ["RESERVED", "ZERO", "Chain", "link_hash", "new_writer_id"]

ZERO = "0" * 64
# Set by the chain (prev and hash in an export line); a record handed in must not carry them.
RESERVED = frozenset({"writer", "seq", "logged_at", "prev", "hash"})


def new_writer_id() -> str:
    """``host:pid:random``: unique per process, readable in ``keel audit verify``."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{os.urandom(4).hex()}"


def link_hash(prev: str, record_json: bytes) -> str:
    return hashlib.sha256(prev.encode("ascii") + record_json).hexdigest()


class Chain:
    def __init__(self, writer: str) -> None:
        self.writer = writer
        self.head = Head(0, ZERO)

    def link(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Head]:
        """Rows for the ``audit`` table after the committed head, and the head they lead to.
        Nothing changes until ``advance``."""
        seq, prev = self.head.seq, self.head.hash
        now = time.time()
        rows = []
        for record in records:
            seq += 1
            text = canonical({**record, "writer": self.writer, "seq": seq, "logged_at": now})
            digest = link_hash(prev, text)
            rows.append({"writer": self.writer, "seq": seq, "ts": now, "prev": prev,
                         "hash": digest, "record": text.decode()})  # fmt: skip
            prev = digest
        return rows, Head(seq, prev)

    def advance(self, head: Head) -> None:
        """The rows leading to ``head`` are committed."""
        self.head = head

"""``keel audit export``: the records as JSON lines for a SIEM, each checkable on its own.

A line is the record's canonical JSON with its chain fields beside it: ``writer``, ``seq``,
``logged_at`` (in the record, so hashed) and ``prev`` and ``hash`` (added). To check a line:
take out ``prev`` and ``hash``, write the rest as canonical JSON, and
``SHA-256(prev + that) == hash``. Lines come in the order they were linked (``logged_at``),
and ``--since`` selects by it, so an export every few minutes misses nothing that was still
being answered when the last one ran.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from keel.audit.canonical import canonical
from keel.store.audit import AuditRow, AuditStore

__all__ = ["export_line", "export_lines"]

PAGE = 1000


def export_line(row: AuditRow) -> bytes:
    record = orjson.loads(row.record)
    return canonical({**record, "prev": row.prev, "hash": row.hash}) + b"\n"


async def export_lines(store: AuditStore, since: float, writer: str | None) -> AsyncIterator[bytes]:
    """Every record linked at ``since`` or later (of one writer, or all), a page at a time."""
    after: AuditRow | None = None
    while True:
        rows = await store.audit_since(since, writer, after, PAGE)
        for row in rows:
            yield export_line(row)
        if len(rows) < PAGE:
            return
        after = rows[-1]

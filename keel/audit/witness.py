"""The witness: every checkpoint a gateway commits, also appended to a file outside the store.

A store-only audit cannot tell a store rolled back to an earlier point (every writer's newest
records and checkpoints deleted together) from one that was never written further. A witness
can: ``audit.witness`` names a file — on another disk, a mount of another machine, an
append-only bucket — that each gateway appends its checkpoints to as canonical JSON lines, and
``keel audit verify`` requires every writer's newest witnessed checkpoint in the store.

Each line is written with one ``write`` on a descriptor opened with ``O_APPEND`` and synced, so
several gateways may share one file. A line that cannot be written is logged, not fatal: the
store holds the checkpoint all the same.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from keel.audit.canonical import canonical
from keel.store.audit import CheckpointRow

__all__ = ["append", "newest", "read"]

log = logging.getLogger("keel.audit")

_FIELDS = ("writer", "seq", "head", "ts", "key_id", "signature", "final", "n", "vouch")


def append(path: Path, row: dict[str, Any]) -> None:
    """Append one checkpoint row; logs (does not raise) when the file cannot be written."""
    line = canonical({field: row[field] for field in _FIELDS}) + b"\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("audit witness %s: checkpoint %s of %s not appended: %s",
                    path, row["n"], row["writer"], exc)  # fmt: skip


def read(path: Path) -> Iterator[tuple[int, CheckpointRow | None]]:
    """Each line's number and checkpoint (None for a line that is not one).
    OSError if the file cannot be read."""
    with path.open("rb") as file:
        for number, line in enumerate(file, 1):
            yield number, _row(line)


def newest(path: Path) -> tuple[dict[str, CheckpointRow], list[int]]:
    """Each writer's highest-numbered witnessed checkpoint, and the numbers of unreadable lines."""
    found: dict[str, CheckpointRow] = {}
    bad: list[int] = []
    for number, row in read(path):
        if row is None:
            bad.append(number)
        elif (seen := found.get(row.writer)) is None or (row.n or 0) > (seen.n or 0):
            found[row.writer] = row
    return found, bad


def _row(line: bytes) -> CheckpointRow | None:
    try:
        fields = orjson.loads(line)
        row = CheckpointRow(**{field: fields[field] for field in _FIELDS})
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    types: tuple[type | tuple[type, ...], ...] = (
        str,
        int,
        str,
        (int, float),
        str,
        str,
        bool,
        int,
        (str, type(None)),
    )
    values = (row.writer, row.seq, row.head, row.ts, row.key_id, row.signature, row.final,
              row.n, row.vouch)  # fmt: skip
    ok = all(isinstance(v, t) for v, t in zip(values, types, strict=True))
    return row if ok else None

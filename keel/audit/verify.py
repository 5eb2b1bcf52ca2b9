"""``keel audit verify``: every link of every writer's chain, and every checkpoint's signature.

Each writer's records are read in seq order with its checkpoints merged in by seq. A record
must follow the one before it (seq + 1, ``prev`` = that one's hash), hash to its ``hash``, and
carry its own place (writer, seq, logged_at) as stored, in canonical form. A checkpoint must be
signed by a known key and name a (seq, head) that the chain has. The first thing wrong in a
writer's chain is reported with the record's seq and request id; nothing after it is trusted.

What cannot be proven is said, not hidden: records after a writer's last checkpoint (a gateway
signs them within ``audit.checkpoint_s``; one killed never will) could have been rewritten or
cut off together with the chain's tail without a trace.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from keel.audit.canonical import canonical
from keel.audit.chain import ZERO, link_hash
from keel.audit.checkpoint import Verifier
from keel.store.base import AuditRow, CheckpointRow, Store

__all__ = ["ChainReport", "Problem", "render", "verify"]

PAGE = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    request_id: str | None
    what: str


@dataclass(slots=True)
class ChainReport:
    writer: str
    records: int = 0
    checkpoints: int = 0
    signed_seq: int = 0  # the highest seq a good checkpoint vouches for
    problem: Problem | None = None


async def verify(store: Store, verifier: Verifier) -> list[ChainReport]:
    """One report per writer, in writer order."""
    return [await _verify_writer(store, verifier, w) for w in await store.audit_writers()]


async def _verify_writer(store: Store, verifier: Verifier, writer: str) -> ChainReport:
    walk = _Walk(writer, await store.audit_checkpoints(writer), verifier)
    problem = walk.checkpoints_at_head()
    after = 0
    while problem is None:
        rows = await store.audit_records(writer, after, PAGE)
        problem = next((p for row in rows if (p := walk.record(row)) is not None), None)
        if len(rows) < PAGE:
            break
        after = rows[-1].seq
    walk.report.problem = problem or walk.finish()
    return walk.report


class _Walk:
    """One writer's chain, record by record, with its checkpoints merged in by seq."""

    def __init__(self, writer: str, checkpoints: list[CheckpointRow], verifier: Verifier) -> None:
        self.report = ChainReport(writer)
        self.pending = deque(checkpoints)
        self.verifier = verifier
        self.seq, self.head = 0, ZERO
        self.first_request: str | None = None
        self.final: int | None = None  # the seq of a signed final head

    def record(self, row: AuditRow) -> Problem | None:
        record = parse_record(row.record)
        request_id = record.get("request_id") if record is not None else None
        what = self._link_problem(row, record)
        if what is not None:
            return Problem(row.seq, request_id if isinstance(request_id, str) else None, what)
        if row.seq == 1:
            self.first_request = request_id
        self.seq, self.head = row.seq, row.hash
        self.report.records += 1
        return self.checkpoints_at_head()

    def _link_problem(self, row: AuditRow, record: dict[str, Any] | None) -> str | None:
        if self.final is not None:
            return (
                f"it comes after the writer's signed final head (seq {self.final}): the writer "
                "stopped cleanly and signed its end, so this record was added outside keel"
            )
        if row.seq != self.seq + 1:
            gap = f"{self.seq + 1}" if row.seq == self.seq + 2 else f"{self.seq + 1}-{row.seq - 1}"
            return f"the record(s) before it, seq {gap}, are missing: deleted"
        if row.prev != self.head:
            return (
                f"its prev is not the hash of record {self.seq}: a record was inserted or "
                "deleted before it, or records were reordered"
            )
        if link_hash(row.prev, row.record.encode()) != row.hash:
            return "its hash does not match its content: the record was edited"
        if record is None:
            return "its record is not a JSON object"
        if (record.get("writer"), record.get("seq"), record.get("logged_at")) != (
            row.writer,
            row.seq,
            row.ts,
        ):
            return "its writer, seq or ts column differs from the record's own: moved or edited"
        if canonical(record) != row.record.encode():
            return "its record is not in canonical JSON: not written by keel"
        return None

    def checkpoints_at_head(self) -> Problem | None:
        """Check the checkpoints that vouch for the chain up to the current record."""
        while self.pending and self.pending[0].seq <= self.seq:
            checkpoint = self.pending.popleft()
            what = self.verifier.problem(checkpoint)
            if what is None and checkpoint.head != self.head:
                what = (
                    f"it vouches for head {checkpoint.head[:12]}…, but the chain's record "
                    f"{self.seq} hashes to {self.head[:12]}…: records up to seq {self.seq} "
                    f"(after the checkpoint before it) were changed and the chain recomputed"
                )
            if what is not None:
                return Problem(checkpoint.seq, None, f"{_named(checkpoint)}: {what}")
            self.report.checkpoints += 1
            self.report.signed_seq = self.seq
            if checkpoint.final:
                self.final = self.seq
        return None

    def finish(self) -> Problem | None:
        """After the last record: checkpoints beyond it, or none at all."""
        if self.pending:
            checkpoint = self.pending.popleft()
            what = self.verifier.problem(checkpoint) or (
                f"it vouches for seq {checkpoint.seq}, but the chain ends at seq {self.seq}: "
                f"records {self.seq + 1}-{checkpoint.seq} were removed (the tail was truncated)"
            )
            return Problem(checkpoint.seq, None, f"{_named(checkpoint)}: {what}")
        if self.report.checkpoints == 0:
            return Problem(
                1 if self.seq else 0,
                self.first_request,
                "the chain has no signed checkpoint at all: keel signs every chain when it "
                "starts, so these records were not written by a keel gateway, or its "
                "checkpoints were deleted",
            )
        return None


def parse_record(text: str) -> dict[str, Any] | None:
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def _named(checkpoint: CheckpointRow) -> str:
    return f"the checkpoint of seq {checkpoint.seq} signed {_when(checkpoint.ts)}"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def render(reports: list[ChainReport]) -> str:
    """One line per writer and a verdict."""
    if not reports:
        return "keel audit: the store holds no audit records or checkpoints: nothing to verify"
    lines = [_line(r) for r in reports]
    bad = sum(r.problem is not None for r in reports)
    if bad:
        lines.append(f"keel audit: FAILED: {bad} of {len(reports)} chain(s) broken")
    else:
        # Only what a good checkpoint vouches for is verified; the rest is named apart.
        records = sum(r.signed_seq for r in reports)
        lines.append(f"keel audit: ok: {len(reports)} chain(s), {records:,} record(s) verified")
        lines += [
            f"keel audit: not yet vouched for: {r.records - r.signed_seq:,} records of writer "
            f"{r.writer} after seq {r.signed_seq}"
            for r in reports
            if r.records > r.signed_seq
        ]
    return "\n".join(lines)


def _line(report: ChainReport) -> str:
    problem = report.problem
    if problem is not None:
        request = f", request {problem.request_id}" if problem.request_id else ""
        return f"BAD  {report.writer}: seq {problem.seq}{request}: {problem.what}"
    line = f"ok   {report.writer}: {report.records:,} records, {report.checkpoints:,} checkpoints"
    unproven = report.records - report.signed_seq
    if unproven:
        line += (
            f"; the last {unproven:,} (seq {report.signed_seq + 1}-{report.records}) come after "
            "its last checkpoint and cannot be proven yet: a running gateway signs them within "
            "audit.checkpoint_s, one that was killed never will"
        )
    return line

"""``keel audit verify``: every link of every writer's chain, and every checkpoint's signature.

Each writer's records are read in seq order with its checkpoints merged in by seq. A record
must follow the one before it (seq + 1, ``prev`` = that one's hash), hash to its ``hash``, and
carry its own place (writer, seq, logged_at) as stored, in canonical form. A checkpoint must be
signed by a known key and name a (seq, head) that the chain has. The first thing wrong in a
writer's chain is reported with the record's seq and request id; nothing after it is trusted.

A writer's checkpoints are numbered 0, 1, 2 …: a missing number is a deleted checkpoint. Each
checkpoint names the other writers' latest checkpoints it saw in the store (its vouch), and a
witness file, when there is one, holds every checkpoint too; the newest checkpoint of each
writer that another writer or the witness saw must be in the store. So a writer deleted whole,
or cut at its tail together with the checkpoints that covered it, is caught whenever another
writer signed after it or a witness was kept.

What cannot be proven is said, not hidden: records after a writer's last checkpoint (a gateway
signs them within ``audit.checkpoint_s``; one killed never will) could have been rewritten or
cut off together with the chain's tail without a trace, and without a witness, a store cut
back to an earlier moment across all writers at once looks like one that stopped there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from keel.audit.canonical import canonical
from keel.audit.chain import ZERO, link_hash
from keel.audit.checkpoint import Verifier, digest, parse_vouch
from keel.store.audit import AuditRow, AuditStore, CheckpointRow

__all__ = ["ChainReport", "Problem", "render", "verify"]

PAGE = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    request_id: str | None
    what: str


@dataclass(frozen=True, slots=True)
class Seen:
    """A writer's checkpoint that someone saw: another writer's checkpoint, or the witness."""

    n: int
    digest: str
    by: str  # who saw it, in words


@dataclass(slots=True)
class ChainReport:
    writer: str
    records: int = 0
    checkpoints: int = 0
    signed_seq: int = 0  # the highest seq a good checkpoint vouches for
    problem: Problem | None = None


async def verify(
    store: AuditStore, verifier: Verifier, witnessed: dict[str, CheckpointRow] | None = None
) -> list[ChainReport]:
    """One report per writer, in writer order; ``witnessed``: each writer's newest checkpoint
    in the witness file (keel.audit.witness), whose writers must all be in the store."""
    writers = await store.audit_writers()
    seen = await _vouched(store, verifier, writers)
    problems: dict[str, Problem] = {}
    for writer, row in (witnessed or {}).items():
        what = verifier.problem(row)
        if what is not None:
            problems[writer] = Problem(row.seq, None, f"the witness's checkpoint {row.n}: {what}")
        elif row.n is not None:
            seen.setdefault(writer, []).append(Seen(row.n, digest(row), "the witness"))
    reports = []
    for writer in sorted({*writers, *seen, *problems}):
        if writer in problems:
            reports.append(ChainReport(writer, problem=problems[writer]))
        elif writer not in writers:
            saw = max(seen[writer], key=lambda s: s.n)
            reports.append(ChainReport(writer, problem=Problem(0, None, (
                f"the store holds no record or checkpoint of this writer, but {saw.by} saw its "
                f"checkpoint {saw.n}: the whole writer was deleted"))))  # fmt: skip
        else:
            reports.append(await _verify_writer(store, verifier, writer, seen.get(writer, [])))
    return reports


async def _vouched(
    store: AuditStore, verifier: Verifier, writers: Iterable[str]
) -> dict[str, list[Seen]]:
    """For each writer another writer vouched for, the newest of its checkpoints so seen (by
    a voucher whose own signature verifies)."""
    candidates: dict[str, list[tuple[int, str, CheckpointRow]]] = {}
    for writer in writers:
        for row in await store.audit_checkpoints(writer):
            for other, n, pinned in parse_vouch(row.vouch):
                if other != writer:
                    candidates.setdefault(other, []).append((n, pinned, row))
    seen: dict[str, list[Seen]] = {}
    for other, found in candidates.items():
        for n, pinned, row in sorted(found, key=lambda c: c[0], reverse=True):
            if verifier.problem(row) is None:
                by = f"writer {row.writer}'s checkpoint {row.n} (signed {_when(row.ts)})"
                seen[other] = [Seen(n, pinned, by)]
                break
    return seen


async def _verify_writer(
    store: AuditStore, verifier: Verifier, writer: str, seen: list[Seen]
) -> ChainReport:
    walk = _Walk(writer, await store.audit_checkpoints(writer), verifier, seen)
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

    def __init__(
        self,
        writer: str,
        checkpoints: list[CheckpointRow],
        verifier: Verifier,
        seen: Iterable[Seen] = (),
    ) -> None:
        self.report = ChainReport(writer)
        self.pending = deque(checkpoints)
        self.verifier = verifier
        self.seq, self.head = 0, ZERO
        self.first_request: str | None = None
        self.final: int | None = None  # the seq of a signed final head
        self.last: CheckpointRow | None = None  # the last good numbered checkpoint
        self.seen = {s.n: s for s in seen}  # checkpoints someone saw, by number
        self.found: set[int] = set()  # of those, the ones stored as they were seen

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
            if what is None:
                what = self._number_problem(checkpoint)
            if what is not None:
                return Problem(checkpoint.seq, None, f"{_named(checkpoint)}: {what}")
            self.report.checkpoints += 1
            self.report.signed_seq = self.seq
            if checkpoint.final:
                self.final = self.seq
        return None

    def _number_problem(self, checkpoint: CheckpointRow) -> str | None:
        """Numbered checkpoints follow each other with no gap; one seen elsewhere matches."""
        n, last = checkpoint.n, self.last
        if n is None:  # signed before checkpoints were numbered
            return None
        expected = 0 if last is None or last.n is None else last.n + 1
        if last is not None and n == last.n:
            if (checkpoint.seq, checkpoint.head) != (last.seq, last.head):
                return f"it has the number of the one before it ({n}) but another head"
            # the same checkpoint stored twice by a retried commit that had landed
        elif n != expected:
            gap = f"{expected}" if n == expected + 1 else f"{expected}-{n - 1}"
            return (
                f"it is numbered {n}, so this writer's checkpoint(s) {gap} are missing: deleted"
                if n > expected
                else f"it is numbered {n} after {expected - 1}: moved or not written by keel"
            )
        seen = self.seen.get(n)
        if seen is not None:
            if digest(checkpoint) != seen.digest:
                return f"it is not the checkpoint {n} that {seen.by} saw: replaced"
            self.found.add(n)
        self.last = checkpoint
        return None

    def finish(self) -> Problem | None:
        """After the last record: checkpoints beyond it, none at all, or fewer than were seen."""
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
        for n, seen in sorted(self.seen.items()):
            if n not in self.found:
                last = self.last.n if self.last is not None else None
                return Problem(
                    self.seq,
                    None,
                    f"its checkpoint {n}, which {seen.by} saw, is not in the store (its last is "
                    f"{last}): the writer's tail was cut together with the checkpoints that "
                    "covered it, or the store was rolled back",
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

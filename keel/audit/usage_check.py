"""``keel audit verify``, second half: every usage row against the audit record committed with it.

Reports and budgets read the usage table, not the chain, so an edited ``cost_usd`` there would
move money without breaking a link. The account stage commits a call's usage row and its audit
record in one transaction, both under the same (request_id, kind) (a fresh id in both when the
client's was taken), so each must have the other and agree on ``AUDITED_USAGE``. Fields a
record does not carry (records written before keel put them there) are not compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from keel.audit.verify import parse_record
from keel.store.audit import AuditStore
from keel.store.base import Store
from keel.store.usage import AUDITED_USAGE

__all__ = ["UsageReport", "render_usage", "verify_usage"]

PAGE = 1000
KINDS = frozenset({"call", "shadow"})  # audit records that have a usage row
SHOWN = 20  # problems listed in full; the rest counted


@dataclass(slots=True)
class UsageReport:
    checked: int = 0  # usage rows that matched their record
    records: int = 0  # audit records that should have a usage row
    problems: list[str] = field(default_factory=list)


Key = tuple[str, str]


async def verify_usage(store: Store) -> UsageReport:
    records = await _call_records(store)
    report = UsageReport(records=len(records))
    if not records:
        return report  # no audit records at all: audit.enabled is off, nothing to compare with
    after = 0
    while rows := await store.usage_audit_rows(after, PAGE):
        for row in rows:
            _check(report, records, row)
        after = rows[-1][0]
    for (request_id, kind), _ in sorted(records.items()):
        report.problems.append(
            f"request {request_id} ({kind}): its audit record has no usage row: the usage row "
            "was deleted, so reports and budgets no longer count it"
        )
    return report


async def _call_records(store: AuditStore) -> dict[Key, dict[str, Any]]:
    found: dict[Key, dict[str, Any]] = {}
    for writer in await store.audit_writers():
        after = 0
        while rows := await store.audit_records(writer, after, PAGE):
            for row in rows:
                record = parse_record(row.record)
                if record is not None and record.get("kind") in KINDS:
                    found[(str(record.get("request_id")), str(record["kind"]))] = record
            after = rows[-1].seq
    return found


def _check(report: UsageReport, records: dict[Key, dict[str, Any]], row: tuple[Any, ...]) -> None:
    _, request_id, kind, *values = row
    record = records.pop((request_id, kind), None)
    if record is None:
        report.problems.append(
            f"request {request_id} ({kind}): usage row seq {row[0]} has no audit record: it "
            "was added to the usage table outside keel"
        )
        return
    differ = [
        f"{name} {value!r} (audited {record[name]!r})"
        for name, value in zip(AUDITED_USAGE, values, strict=True)
        if name in record and not _same(value, record[name])
    ]
    if differ:
        report.problems.append(
            f"request {request_id} ({kind}): usage row seq {row[0]} differs from its audit "
            f"record: {', '.join(differ)}: the usage table was edited"
        )
    else:
        report.checked += 1


def _same(stored: Any, audited: Any) -> bool:
    if isinstance(audited, float) or isinstance(stored, float):
        a, b = float(stored or 0), float(audited or 0)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(stored == audited)


def render_usage(report: UsageReport) -> str:
    if not report.records and not report.problems:
        return "keel audit: no audit call records: usage rows not cross-checked"
    lines = [f"BAD  usage: {p}" for p in report.problems[:SHOWN]]
    if len(report.problems) > SHOWN:
        lines.append(f"BAD  usage: … and {len(report.problems) - SHOWN:,} more")
    if report.problems:
        lines.append(
            f"keel audit: FAILED: {len(report.problems):,} usage row(s) do not match the audit"
        )
    else:
        lines.append(f"keel audit: ok: {report.checked:,} usage row(s) match their audit records")
    return "\n".join(lines)

"""The ``alerts`` table on both backends: what is recorded is read back, newest last."""

from __future__ import annotations

import asyncio
import dataclasses

from keel.store.alerts import AlertRecord
from keel.store.base import Store


def record(**fields: object) -> AlertRecord:
    base = AlertRecord(
        ts=1_000.0, kind="budget", name="alpha-monthly", subject="alpha", threshold=80.0,
        used=40.0, limit=50.0, period_start=900.0, resets_at=2_000.0,
        message="team alpha has spent $40.00 of its $50.00 monthly budget", status="delivered",
        delivered=2, failed=0, attempts=3, last_error=None,
    )  # fmt: skip
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


async def test_an_alert_reads_back_field_for_field(store: Store) -> None:
    written = record(status="partial", failed=1, last_error="webhook 2 (x): HTTP 500")
    seq = await store.add_alert(written)
    assert seq >= 1
    assert await store.alerts_since(0.0) == [dataclasses.replace(written, seq=seq)]


async def test_since_and_limit_keep_the_latest_oldest_first(store: Store) -> None:
    for ts in (100.0, 200.0, 300.0, 400.0):
        await store.add_alert(record(ts=ts, subject=f"team-{ts:.0f}"))
    assert [r.ts for r in await store.alerts_since(200.0)] == [200.0, 300.0, 400.0]
    assert [r.subject for r in await store.alerts_since(0.0, limit=2)] == ["team-300", "team-400"]
    assert await store.alerts_since(500.0) == []


async def test_concurrent_records_each_get_their_own_seq(store: Store) -> None:
    seqs = await asyncio.gather(*(store.add_alert(record(threshold=t)) for t in range(10)))
    assert len(set(seqs)) == 10
    assert sorted(r.threshold for r in await store.alerts_since(0.0)) == list(range(10))

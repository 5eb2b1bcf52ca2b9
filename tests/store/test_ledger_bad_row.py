"""A batch holding one row PostgreSQL refuses (a value wider than its column) commits every
other row; only the bad row's request is told its record did not commit, and the audit chain
stays whole across the split."""

from __future__ import annotations

import asyncio

from keel.audit.verify import verify
from keel.store import opened_store
from keel.store.ledger import RecordNotCommitted
from tests.audit.conftest import audit_record, ledger_on, make_trail, verifier
from tests.store.conftest import fresh_pg_database, make_row


async def test_one_bad_row_costs_only_its_own_record() -> None:
    async with fresh_pg_database() as url, opened_store(url) as store:
        trail = make_trail()
        bad = 17
        async with ledger_on(store, trail) as ledger:
            rows = [make_row(request_id=f"req-{i}", model="x" * (300 if i == bad else 1))
                    for i in range(40)]  # fmt: skip
            results = await asyncio.gather(
                *(ledger.record(row, audit_record(i)) for i, row in enumerate(rows)),
                return_exceptions=True,
            )
        failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
        assert failed == [bad]
        assert isinstance(results[bad], RecordNotCommitted)
        assert await store.count_usage() == 39
        (report,) = await verify(store, verifier())
        assert report.problem is None, report.problem

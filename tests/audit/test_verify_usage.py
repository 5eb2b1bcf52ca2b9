"""keel audit verify cross-checks the usage records (which reports and budgets read) against
the audit records committed with them: an edited, deleted or added usage row is named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keel.audit.usage_check import render_usage, verify_usage
from keel.store.sqlite import SQLiteStore
from tests.audit.conftest import audit_record, ledger_on, make_trail
from tests.audit.test_verify import WRITER, sql
from tests.store.conftest import make_row


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """Four calls, each a usage row and its audit record, as keel's account stage writes them."""
    store = SQLiteStore(f"sqlite:///{tmp_path / 'keel.db'}")
    await store.start()
    async with ledger_on(store, make_trail(writer=WRITER)) as ledger:
        for i in range(1, 5):
            row = make_row(request_id=f"req-{i}", cost_usd=0.001 * i)
            record = audit_record(i, prompt_tokens=10, completion_tokens=20)
            await ledger.record(row, record)
    yield store
    await store.close()


async def test_untouched_usage_matches_its_records(store: SQLiteStore) -> None:
    report = await verify_usage(store)
    assert (report.checked, report.problems) == (4, [])
    assert "4 usage row(s) match their audit records" in render_usage(report)


async def test_an_edited_cost_is_named(store: SQLiteStore) -> None:
    sql(store, ("UPDATE usage SET cost_usd = 0 WHERE request_id = 'req-3'", ()))
    report = await verify_usage(store)
    assert len(report.problems) == 1
    assert "req-3" in report.problems[0] and "cost_usd" in report.problems[0]
    assert "FAILED" in render_usage(report)


async def test_edited_tokens_and_team_are_named(store: SQLiteStore) -> None:
    sql(store, ("UPDATE usage SET team = 'beta', prompt_tokens = 1 WHERE request_id = 'req-2'", ()))
    (found,) = (await verify_usage(store)).problems
    assert "req-2" in found and "team" in found and "prompt_tokens" in found


async def test_a_deleted_usage_row_is_named(store: SQLiteStore) -> None:
    sql(store, ("DELETE FROM usage WHERE request_id = 'req-2'", ()))
    (found,) = (await verify_usage(store)).problems
    assert "req-2" in found and "no usage row" in found


async def test_a_usage_row_with_no_audit_record_is_named(store: SQLiteStore) -> None:
    extra = make_row(request_id="req-forged", cost_usd=5.0)
    cols = ", ".join(extra)
    marks = ", ".join("?" for _ in extra)
    sql(store, (f"INSERT INTO usage ({cols}) VALUES ({marks})", tuple(extra.values())))
    (found,) = (await verify_usage(store)).problems
    assert "req-forged" in found and "no audit record" in found

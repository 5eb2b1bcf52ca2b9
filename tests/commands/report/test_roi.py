"""``keel report roi`` on the known ledger (ledger.py here) plus known feedback, on
SQLite and PostgreSQL: value from successes and latest outcomes, cost with self-hosted shares."""

from __future__ import annotations

import orjson
import pytest

from keel.commands.report.period import parse_period
from keel.commands.report.roi import RoiRow, render, roi_rows
from keel.store.base import Store
from keel.store.feedback import FeedbackRecord
from tests.commands.report.ledger import config, ledger, utc

BERLIN = "Europe/Berlin"
AFTER = utc(2026, 12, 10)
USE_CASES = {
    "support": {"value_per_success_usd": 0.5, "value_per_outcome_usd": {"resolved": 4.0},
                "minutes_saved": {"resolved": 6, "escalated": 3}, "hourly_rate_usd": 60},
    "idle-bot": {"value_per_success_usd": 100},  # no requests, no feedback: not listed
}  # fmt: skip


def said(ts: float, request_id: str, outcome: str, project: str = "support") -> FeedbackRecord:
    return FeedbackRecord(ts, request_id, outcome, "alpha", project, "key_alpha")


FEEDBACK = [
    said(utc(2026, 11, 5, 10), "A", "escalated"),  # superseded by the next
    said(utc(2026, 11, 6, 10), "A", "resolved"),  # counts: 4.0 + 6 / 60 x 60 = 10.0
    said(utc(2026, 11, 7, 10), "B", "escalated"),  # superseded in December: not counted
    said(utc(2026, 12, 2, 10), "B", "resolved"),  # December's
    said(utc(2026, 10, 31, 23, 30), "C", "escalated"),  # Nov 1 in Berlin: 3 / 60 x 60 = 3.0
    said(utc(2026, 10, 31, 22, 30), "D", "resolved"),  # still October in Berlin
    said(utc(2026, 11, 9), "E", "thumbs-up", project="cv"),  # cv has no use case: worth 0
]


async def report(store: Store, period: str = "2026-11") -> list[RoiRow]:
    await store.write_usage(ledger())
    for record in FEEDBACK:
        await store.add_feedback(record)
    cfg = config(use_cases=USE_CASES)
    return await roi_rows(store, cfg, parse_period(period, BERLIN), BERLIN, AFTER)


async def test_value_and_cost_per_use_case(store: Store) -> None:
    cv, support = await report(store)
    # gpu's $7.20 over 1200 tokens: 400 support, 400 cv (call + shadow), 400 untagged.
    assert (support.use_case, support.month, support.configured) == ("support", "2026-11", True)
    assert (support.requests, support.successes) == (2, 2)
    assert support.outcomes == {"resolved": 1, "escalated": 1}  # A's latest, C's
    assert support.value_usd == pytest.approx(14.0)  # 2 x 0.5 + 10.0 + 3.0
    assert support.cost_usd == pytest.approx(2.90)  # 0.50 + 2.40
    assert support.ratio == pytest.approx(14.0 / 2.90)
    # cv: listed with value 0 (no use case); its shadow copy's $0.25 is its cost too.
    assert (cv.configured, cv.requests, cv.successes, cv.value_usd) == (False, 2, 1, 0.0)
    assert cv.outcomes == {"thumbs-up": 1}
    assert cv.cost_usd == pytest.approx(2.65)  # 0.25 + 2.40
    assert cv.ratio == 0.0


async def test_a_period_across_months_is_split(store: Store) -> None:
    rows = await report(store, "2026-10-31..2026-11-01")
    # Oct 31 in Berlin: the $9 call is untagged, D's feedback is the only October one.
    october, november = rows
    assert (october.use_case, october.month, october.requests) == ("support", "2026-10", 0)
    assert (october.outcomes, october.value_usd, october.cost_usd) == ({"resolved": 1}, 10.0, 0.0)
    assert october.ratio is None
    # Nov 1 in Berlin: the 00:30 call ($0.50, 1 success) and C's feedback (3.0); gpu was idle.
    assert (november.month, november.requests, november.successes) == ("2026-11", 1, 1)
    assert november.value_usd == pytest.approx(3.5)  # 1 x 0.5 + 3.0
    assert november.cost_usd == pytest.approx(0.50)


async def test_formats(store: Store) -> None:
    rows = await report(store)
    data = orjson.loads(render(rows, "2026-11", BERLIN, "json"))
    assert [(r["use_case"], r["configured"]) for r in data] == [("cv", False), ("support", True)]
    assert data[1]["value_usd"] == pytest.approx(14.0)
    lines = render(rows, "2026-11", BERLIN, "csv").splitlines()
    assert (
        lines[0] == "use_case,month,configured,requests,successes,feedback,value_usd,cost_usd,ratio"
    )
    assert lines[2] == "support,2026-11,true,2,2,2,14.000000,2.900000,4.827586"  # 14 / 2.9
    table = render(rows, "2026-11", BERLIN, "table")
    assert "cv (no use case)" in table and "4.83" in table
    october = await roi_rows(store, config(), parse_period("2026-09", BERLIN), BERLIN, AFTER)
    assert render(october, "2026-09", BERLIN, "table").startswith("no use case had requests")


async def test_feedback_is_kept_in_the_order_given(store: Store) -> None:
    first = await store.add_feedback(said(utc(2026, 11, 1), "A", "escalated"))
    second = await store.add_feedback(said(utc(2026, 11, 2), "A", "resolved"))
    assert second > first
    kept = await store.feedback_since(utc(2026, 11, 1, 12))
    assert [(f.request_id, f.outcome, f.seq, f.project) for f in kept] == [
        ("A", "resolved", second, "support")]  # fmt: skip


async def test_the_latest_feedback_is_per_team(store: Store) -> None:
    # Feedback stored before the gateway checked who made a request: another team's later
    # word on the same id must not displace alpha's outcome from alpha's use case.
    await store.add_feedback(said(utc(2026, 11, 5), "A", "resolved"))
    await store.add_feedback(
        FeedbackRecord(utc(2026, 11, 6), "A", "escalated", "beta", "billing", "key_beta")
    )
    cfg = config(use_cases={**USE_CASES, "billing": {"value_per_outcome_usd": {"escalated": 1}}})
    rows = await roi_rows(store, cfg, parse_period("2026-11", BERLIN), BERLIN, AFTER)
    by_case = {r.use_case: r for r in rows}
    assert by_case["support"].outcomes == {"resolved": 1}
    assert by_case["support"].value_usd == pytest.approx(10.0)  # 4.0 + 6 / 60 x 60
    assert by_case["billing"].outcomes == {"escalated": 1}

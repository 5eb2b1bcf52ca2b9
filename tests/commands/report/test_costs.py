"""``keel report costs`` on a known ledger (ledger.py here), on SQLite and PostgreSQL:
period edges in Berlin, failed tries, p95, budget use and self-hosted hours spread."""

from __future__ import annotations

import orjson
import pytest

from keel.commands.report.costs import CostReport, cost_report, parse_by, render
from keel.commands.report.period import parse_period
from keel.commands.report.tally import nearest_rank
from keel.store.base import Store
from tests.commands.report.ledger import config, ledger, row, utc

BERLIN = "Europe/Berlin"
AFTER = utc(2026, 12, 10)  # "now": November is over
BUDGETS = [
    {"name": "alpha-month", "scope": "team", "match": "alpha", "limit_usd": 10,
     "period": "month", "timezone": BERLIN},
    {"name": "gamma-day", "scope": "team", "match": "gamma", "limit_usd": 1, "period": "day"},
]  # fmt: skip


async def report(store: Store, by: str = "team", **sections: object) -> CostReport:
    await store.write_usage(ledger())
    cfg = config(**sections)
    return await cost_report(store, cfg, parse_period("2026-11", BERLIN), parse_by(by), BERLIN,
                             AFTER)  # fmt: skip


async def test_totals_per_team_in_berlins_november(store: Store) -> None:
    r = await report(store, budgets=BUDGETS)
    alpha, beta, gamma = (g.tally for g in r.groups)
    assert [g.key for g in r.groups] == [{"team": "alpha"}, {"team": "beta"}, {"team": "gamma"}]
    # alpha: the 00:30-Berlin call and two gpu calls (the $9 and $7 rows lie outside).
    assert (alpha.requests, alpha.errors, alpha.failed_tries) == (3, 0, 0)
    assert (alpha.prompt_tokens, alpha.cached_tokens, alpha.completion_tokens) == (700, 20, 250)
    assert alpha.avg_latency_ms == 200.0  # (100 + 200 + 300) / 3
    assert alpha.p95_latency_ms == 300.0  # rank ceil(0.95 x 3) = 3 of 100, 200, 300
    # gpu served alpha 800 tokens and beta 400 (200 of them a shadow copy's): 1200 in all.
    assert alpha.self_hosted_usd == pytest.approx(4.80)  # 7.20 x 800 / 1200
    assert alpha.cost_usd == pytest.approx(5.30)  # 0.50 metered + 4.80
    # beta: 2 requests (shadow copies are not), 1 error, 1 + 2 failed tries.
    assert (beta.requests, beta.errors, beta.failed_tries) == (2, 1, 3)
    assert (beta.prompt_tokens, beta.completion_tokens) == (210, 210)  # 100 + 100 + 10 each
    assert beta.shadow_usd == pytest.approx(0.25)
    assert beta.cost_usd == pytest.approx(2.65)  # 0.25 shadow + 7.20 x 400 / 1200
    assert (beta.avg_latency_ms, beta.p95_latency_ms) == (225.0, 400.0)  # shadows' 999 unseen
    # gamma: 20 calls of 10..200 ms; p95 is the 19th smallest, ceil(0.95 x 20) = 19.
    assert (gamma.requests, gamma.avg_latency_ms, gamma.p95_latency_ms) == (20, 105.0, 190.0)
    assert gamma.cost_usd == pytest.approx(0.20)  # 20 x 0.01


async def test_the_total_row_and_self_hosted_deployments(store: Store) -> None:
    r = await report(store)
    t = r.total
    assert (t.requests, t.errors, t.failed_tries) == (25, 1, 3)  # 3 + 2 + 20
    assert (t.prompt_tokens, t.cached_tokens, t.completion_tokens) == (930, 20, 480)
    assert t.avg_latency_ms == 126.0  # (600 + 450 + 2100) / 25
    # rank ceil(0.95 x 25) = 24 of 10..200 (20) with 50, 100, 200, 300, 400 merged in: 300.
    assert t.p95_latency_ms == 300.0
    # 5.30 + 2.65 + 0.20 = 8.15 spread to groups, plus gpu2's idle 720 h x 0.005 = 3.60.
    assert r.idle_usd == pytest.approx(3.60)
    assert r.total_usd == pytest.approx(11.75)
    gpu, gpu2 = r.self_hosted
    assert (gpu.deployment, gpu.hours, gpu.tokens) == ("gpu", 720.0, 1200)
    assert gpu.cost_usd == pytest.approx(7.20)
    assert gpu.usd_per_mtok == pytest.approx(6000.0)  # 7.20 / 1200 x 1e6
    assert (gpu2.tokens, gpu2.usd_per_mtok) == (0, None)


async def test_budget_used_is_the_budget_period_at_the_reports_end(store: Store) -> None:
    r = await report(store, budgets=BUDGETS)
    alpha, beta, gamma = r.groups
    # alpha's calls cost $0.50 in November (Berlin), as budgets count: 5% of $10.
    (use,) = alpha.budgets
    assert (use.budget, use.period, use.used_pct) == ("alpha-month", "2026-11", pytest.approx(5.0))
    assert beta.budgets == []
    # gamma's daily (UTC) budget: Nov 30 holds the report's end; 20 x $0.01 of $1 = 20%.
    (use,) = gamma.budgets
    assert (use.period, use.spent_usd, use.used_pct) == (
        "2026-11-30", pytest.approx(0.20), pytest.approx(20.0))  # fmt: skip


async def test_no_budget_use_when_the_grouping_names_no_subject(store: Store) -> None:
    r = await report(store, by="model", budgets=BUDGETS)
    assert [g.budgets for g in r.groups] == [[]]


async def test_grouping_by_several_columns(store: Store) -> None:
    r = await report(store, by="deployment,project")
    by_key = {tuple(g.key.values()): g.tally for g in r.groups}
    assert sorted(by_key, key=str) == sorted(
        [("cloud", None), ("cloud", "support"), ("cloud", "cv"), ("gpu", None),
         ("gpu", "support"), ("gpu", "cv")], key=str)  # fmt: skip
    # gpu's $7.20 goes by tokens: 400 untagged (alpha), 400 support, 400 cv (call + shadow).
    for project in (None, "support", "cv"):
        assert by_key[("gpu", project)].self_hosted_usd == pytest.approx(2.40)
    assert by_key[("cloud", None)].requests == 20  # gamma's


async def test_a_running_period_charges_hours_up_to_now(store: Store) -> None:
    await store.write_usage([row(utc(2026, 11, 10, 1), "alpha", "gpu", prompt_tokens=5,
                                 completion_tokens=5)])  # fmt: skip
    r = await cost_report(store, config(), parse_period("2026-11-10"), ("team",), "UTC",
                          utc(2026, 11, 10, 6))  # fmt: skip
    gpu, _ = r.self_hosted
    assert (gpu.hours, gpu.cost_usd) == (6.0, pytest.approx(0.06))  # 00:00 to 06:00 x 0.01
    assert r.groups[0].tally.cost_usd == pytest.approx(0.06)
    assert gpu.usd_per_mtok == pytest.approx(6000.0)  # 0.06 / 10 x 1e6


async def test_json_and_csv_carry_the_same_numbers(store: Store) -> None:
    r = await report(store, budgets=BUDGETS)
    data = orjson.loads(render(r, "json"))
    assert data["period"]["label"] == "2026-11" and data["by"] == ["team"]
    assert [g["team"] for g in data["groups"]] == ["alpha", "beta", "gamma"]
    assert data["total"]["cost_usd"] == pytest.approx(11.75)
    assert data["total"]["self_hosted_usd"] == pytest.approx(10.80)  # 7.20 + 3.60 idle
    assert data["self_hosted"][0]["usd_per_mtok"] == pytest.approx(6000.0)
    assert data["groups"][0]["budgets"][0]["used_pct"] == pytest.approx(5.0)
    groups, self_hosted = render(r, "csv").split("\n\n")
    lines = groups.splitlines()
    assert lines[0].startswith("team,requests,errors,failed_tries,")
    assert lines[1].startswith("alpha,3,0,0,700,20,250,") and lines[1].endswith(",alpha-month,5.00")
    assert lines[-1].startswith("total,25,1,3,930,20,480,11.75")
    assert self_hosted.splitlines()[1].startswith("gpu,0.01,720,7.2,1200,6000")


async def test_the_table_shows_totals_and_effective_prices(store: Store) -> None:
    text = render(await report(store, budgets=BUDGETS), "table")
    assert text.startswith("costs 2026-11 (Europe/Berlin)")
    assert "5.0% alpha-month" in text and "11.750000" in text
    assert "cost includes $0.250000 of shadow copies" in text
    gpu = next(line for line in text.splitlines() if line.startswith("gpu "))
    assert gpu.split()[-1] == "6000.0000"
    gpu2 = next(line for line in text.splitlines() if line.startswith("gpu2"))
    assert gpu2.split()[-1] == "idle"


async def test_rows_are_read_a_page_at_a_time(store: Store) -> None:
    await store.write_usage(ledger())
    november = parse_period("2026-11", BERLIN)
    seen, after = [], 0
    while page := await store.usage_rows(november.start, november.end, after, 4):
        assert len(page) <= 4
        seen += page
        after = page[-1].seq
    assert len(seen) == 27 and len({r.seq for r in seen}) == 27  # 29 rows, 2 outside


def test_nearest_rank() -> None:
    assert nearest_rank([float(v) for v in range(1, 21)], 95) == 19.0
    assert nearest_rank([float(v) for v in range(100, 0, -1)], 95) == 95.0
    assert nearest_rank([7.0], 95) == 7.0
    assert nearest_rank([], 95) is None


@pytest.mark.parametrize("text", ["team,", "team,user", "", "team,team"])
def test_bad_groupings_are_refused(text: str) -> None:
    if text == "team,":
        assert parse_by(text) == ("team",)
        return
    with pytest.raises(ValueError, match="--by"):
        parse_by(text)

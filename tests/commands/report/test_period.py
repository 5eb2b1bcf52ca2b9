"""Report periods as typed: months, days, ISO weeks and ranges, in a time zone."""

from __future__ import annotations

import pytest

from keel.commands.report.period import months_in, parse_period
from tests.commands.report.ledger import utc


def test_a_month_in_berlin_starts_at_its_local_midnight() -> None:
    november = parse_period("2026-11", "Europe/Berlin")
    assert (november.start, november.end) == (utc(2026, 10, 31, 23), utc(2026, 11, 30, 23))
    assert utc(2026, 10, 31, 23, 30) in november  # 00:30 on Nov 1 in Berlin
    assert utc(2026, 11, 30, 23, 30) not in november  # 00:30 on Dec 1 there


def test_days_weeks_and_ranges() -> None:
    day = parse_period("2026-11-05")
    assert (day.start, day.end, day.label) == (utc(2026, 11, 5), utc(2026, 11, 6), "2026-11-05")
    week = parse_period("2026-W45")  # Monday Nov 2 to Monday Nov 9
    assert (week.start, week.end, week.label) == (utc(2026, 11, 2), utc(2026, 11, 9), "2026-W45")
    span = parse_period("2026-11-01..2026-11-15", "Europe/Berlin")  # inclusive
    assert (span.start, span.end) == (utc(2026, 10, 31, 23), utc(2026, 11, 15, 23))
    # Berlin's October 2026 has 25 October's extra hour: 31 x 24 + 1 hours.
    october = parse_period("2026-10", "Europe/Berlin")
    assert october.end - october.start == (31 * 24 + 1) * 3600


def test_months_in_a_range() -> None:
    pieces = months_in(parse_period("2026-10-30..2026-11-02"), "UTC")
    assert [(p.label, p.start, p.end) for p in pieces] == [
        ("2026-10", utc(2026, 10, 30), utc(2026, 11, 1)),
        ("2026-11", utc(2026, 11, 1), utc(2026, 11, 3)),
    ]


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-11-31", "november", "2026-W54", "2026-11-05..2026-11-01", "26-11"]
)
def test_bad_periods_name_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"2026-W45 \(an ISO week\)"):
        parse_period(text)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="IANA"):
        parse_period("2026-11", "Mars/Olympus")

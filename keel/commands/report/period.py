"""The period a report covers, as people type it: a month, a day, an ISO week or a range of
days, in a time zone. Each is a ``Period`` from local midnight to local midnight."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from keel.finops.periods import Period, period_at

__all__ = ["FORMS", "months_in", "parse_period"]

FORMS = "2026-11 (a month), 2026-11-05 (a day), 2026-W45 (an ISO week), 2026-11-01..2026-11-15"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_period(text: str, timezone: str = "UTC") -> Period:
    """The period ``text`` names, in ``timezone`` (ValueError naming the forms if none)."""
    zone = _zone(timezone)
    text = text.strip()
    try:
        if ".." in text:
            first, _, last = text.partition("..")
            return _days(_date(first), _date(last), zone, text)
        if (month := _MONTH.match(text)) is not None:
            return period_at("month", timezone, _noon(date(int(month[1]), int(month[2]), 1), zone))
        if (week := _WEEK.match(text)) is not None:
            monday = date.fromisocalendar(int(week[1]), int(week[2]), 1)
            return period_at("week", timezone, _noon(monday, zone))
        return period_at("day", timezone, _noon(_date(text), zone))
    except ValueError:
        raise ValueError(f"cannot read the period {text!r}; use one of: {FORMS}") from None


def months_in(period: Period, timezone: str) -> list[Period]:
    """The calendar months ``period`` touches, each cut to the part inside ``period``."""
    pieces: list[Period] = []
    start = period.start
    while start < period.end:
        month = period_at("month", timezone, start)
        pieces.append(Period(start, min(month.end, period.end), month.label))
        start = month.end
    return pieces


def _days(first: date, last: date, zone: ZoneInfo, label: str) -> Period:
    if last < first:
        raise ValueError("the range ends before it starts")
    start = period_at("day", zone.key, _noon(first, zone))
    end = period_at("day", zone.key, _noon(last, zone))
    return Period(start.start, end.end, label)


def _date(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise ValueError(f"not a date: {text!r}")
    return date.fromisoformat(text.strip())


def _noon(day: date, zone: ZoneInfo) -> float:
    # Noon is inside the day whatever a DST change does to its midnight.
    return datetime.combine(day, time(12), zone).timestamp()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as UTC or Europe/Berlin"
        ) from None

"""Budget periods: the calendar day, ISO week or month that holds a moment, in a time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["Period", "period_at"]


class Period:
    """One period: it starts at local midnight (Mondays for weeks, the 1st for months) and
    ends where the next starts. Both ends are Unix times; a day across a DST change is 23 or
    25 hours long, as the wall clock says."""

    __slots__ = ("end", "label", "start")

    def __init__(self, start: float, end: float, label: str) -> None:
        self.start = start
        self.end = end
        self.label = label

    def __contains__(self, when: float) -> bool:
        return self.start <= when < self.end

    def __repr__(self) -> str:
        return f"Period({self.label})"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def period_at(kind: str, timezone: str, when: float) -> Period:
    """The ``day``, ``week`` or ``month`` in ``timezone`` that holds Unix time ``when``."""
    zone = _zone(timezone)
    local = datetime.fromtimestamp(when, zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if kind == "day":
        first, after = day, day + timedelta(days=1)
        label = first.strftime("%Y-%m-%d")
    elif kind == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
        year, week, _ = first.isocalendar()
        label = f"{year}-W{week:02d}"
    elif kind == "month":
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        label = first.strftime("%Y-%m")
    else:
        raise ValueError(f"period must be day, week or month, not {kind!r}")
    return Period(_unix(first, zone), _unix(after, zone), label)


def _unix(wall: datetime, zone: ZoneInfo) -> float:
    # Local midnight that a DST jump skips does not exist; fold=0 picks the earlier reading.
    return wall.replace(tzinfo=zone).timestamp()

"""Reading the times people type on the command line: dates and durations."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

__all__ = ["parse_ago", "parse_until"]

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration_s(text: str) -> float | None:
    match = _DURATION.match(text.strip())
    return int(match.group(1)) * _UNIT_S[match.group(2)] if match else None


def _date(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as a time: use a date (2026-11-01), a date and time "
            "(2026-11-01T09:00) or a duration (30m, 24h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_ago(text: str, now: float | None = None) -> float:
    """A Unix time from a date or a duration back from now."""
    span = _duration_s(text)
    if span is not None:
        return (time.time() if now is None else now) - span
    return _date(text)


def parse_until(text: str, now: float | None = None) -> float:
    """A Unix time from a date or a duration ahead of now."""
    span = _duration_s(text)
    if span is not None:
        return (time.time() if now is None else now) + span
    return _date(text)

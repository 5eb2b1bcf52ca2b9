"""``keel report alerts``: the alerts recorded in the store, as a table or JSON."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import orjson

from keel.config.schema import KeelConfig
from keel.monitor.alert_body import iso, number
from keel.store import opened_store
from keel.store.alerts import AlertRecord
from keel.table import render_table
from keel.timeparse import parse_ago

__all__ = ["alerts", "render"]

_FORMATS = {"table", "json"}
LIMIT = 1000  # the latest this many; a longer list is for SQL, not a terminal


async def alerts(config: KeelConfig, since: str, fmt: str) -> str:
    if fmt not in _FORMATS:
        raise ValueError(f"--format must be one of {', '.join(sorted(_FORMATS))}, not {fmt!r}")
    start = parse_ago(since)
    async with opened_store(config.store.url) as store:
        records = await store.alerts_since(start, LIMIT)
    return render(records, fmt)


def render(records: list[AlertRecord], fmt: str) -> str:
    if fmt == "json":
        rows = [
            {**asdict(r), "ts_iso": iso(r.ts), "period_start_iso": iso(r.period_start)}
            for r in records
        ]
        return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode()
    if not records:
        return "no alerts in that period"
    header = ("time (UTC)", "kind", "name", "subject", "at %", "used", "limit", "status",
              "webhooks ok/failed", "tries", "message")  # fmt: skip
    lines: list[tuple[str, ...]] = [header]
    for r in records:
        when = datetime.fromtimestamp(r.ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        lines.append((
            when, r.kind, r.name, r.subject, number(r.threshold), _amount(r.kind, r.used),
            _amount(r.kind, r.limit), r.status, f"{r.delivered}/{r.failed}", str(r.attempts),
            r.message if r.last_error is None else f"{r.message} [{r.last_error}]",
        ))  # fmt: skip
    return render_table(lines)


def _amount(kind: str, value: float) -> str:
    return f"${value:.2f}" if kind == "budget" else number(value)

"""``keel drift report MODEL[@ALIAS|:VERSION]``: the version's live window (the rows the
gateways sampled, kept in the store) against its registered reference, feature by feature."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson

from keel.config.schema import KeelConfig
from keel.monitor.drift_check import WindowCheck, check_window
from keel.registry.catalog import resolve
from keel.store import opened_store
from keel.table import render_table
from keel.timeparse import parse_ago

__all__ = ["drift_report"]

_FORMATS = ("table", "json")


async def drift_report(
    config: KeelConfig, ref: str, rows: int | None, since: str | None, fmt: str = "table"
) -> str:
    if fmt not in _FORMATS:
        raise ValueError(f"--format must be one of {', '.join(_FORMATS)}, not {fmt!r}")
    now = time.time()
    start = parse_ago(since, now) if since is not None else None
    settings = config.monitors.drift
    async with opened_store(config.store.url) as store:
        record = await resolve(store, ref)
        checked = await check_window(store, record.name, record.version, settings, now, rows, start)
    subject = f"{record.name}:{record.version}"
    if checked is None:
        return (
            f"{subject}: fewer than {settings.min_rows} sampled rows in the window (the gateways "
            f"keep up to {settings.rows_per_minute} a minute; monitors.drift.min_rows)"
        )
    if fmt == "json":
        body = {"model": record.name, "version": record.version, "rows": checked.rows,
                "from": checked.first_ts, "to": checked.last_ts,
                **checked.report.as_dict(detail=True)}  # fmt: skip
        return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
    return _table(subject, checked)


def _table(subject: str, checked: WindowCheck) -> str:
    report = checked.report
    verdict = "DRIFT" if report.dataset_drift else "no drift"
    head = (
        f"{subject}: {verdict} over {checked.rows} rows from {_at(checked.first_ts)} to "
        f"{_at(checked.last_ts)} (alpha {report.alpha:g}, {report.correction} across "
        f"{len(report.columns)} features; score = -log10 of the adjusted p-value)"
    )
    ordered = sorted(report.columns.items(), key=lambda item: -item[1].score)
    table = [["feature", "verdict", "method", "tests (unadjusted scores)", "score"]]
    for name, drift in ordered:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in drift.parts.items())
        table.append(
            [name, "drift" if drift.drift else "-", drift.method, parts, f"{drift.score:.2f}"]
        )
    return head + "\n" + render_table(table, numeric_from=4)


def _at(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")

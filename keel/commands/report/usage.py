"""``keel report usage``: totals from the usage records, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict

import orjson

from keel.config.schema import KeelConfig
from keel.store import opened_store
from keel.store.usage import UsageGroup
from keel.table import render_table
from keel.timeparse import parse_ago

__all__ = ["render", "usage"]

_BY = {"team", "model", "deployment", "region", "kind"}
_FORMATS = {"table", "json", "csv"}


async def usage(config: KeelConfig, since: str, by: str, fmt: str) -> str:
    if by not in _BY:
        raise ValueError(f"--by must be one of {', '.join(sorted(_BY))}, not {by!r}")
    if fmt not in _FORMATS:
        raise ValueError(f"--format must be one of {', '.join(sorted(_FORMATS))}, not {fmt!r}")
    start = parse_ago(since)
    async with opened_store(config.store.url) as store:
        groups = await store.usage_by(by, start)
    return render(groups, by, fmt)


def render(groups: list[UsageGroup], by: str, fmt: str) -> str:
    rows = [
        {by: g.key or "-", **{k: v for k, v in asdict(g).items() if k != "key"}} for g in groups
    ]
    if fmt == "json":
        return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[by, *_COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    return _table(groups, by)


_COLUMNS = [
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "avg_latency_ms",
    "avg_overhead_ms",
]


def _table(groups: list[UsageGroup], by: str) -> str:
    if not groups:
        return "no usage records in that period"
    header: tuple[str, ...] = (
        by,
        "requests",
        "errors",
        "prompt tok",
        "completion tok",
        "cost $",
        "avg ms",
        "overhead ms",
    )
    lines = [header]
    for g in groups:
        lines.append((
            g.key or "-", str(g.requests), str(g.errors), str(g.prompt_tokens),
            str(g.completion_tokens), f"{g.cost_usd:.6f}", f"{g.avg_latency_ms:.1f}",
            f"{g.avg_overhead_ms:.2f}",
        ))  # fmt: skip
    return render_table(lines, numeric_from=1)

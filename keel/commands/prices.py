"""``keel prices``: the bundled price list, or each deployment of a config with the price it
resolves to, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from keel.config.prices import PRICE_LIST, PRICE_LIST_AS_OF, PRICE_PROVIDERS
from keel.config.schema import DeploymentConfig, KeelConfig
from keel.table import render_table

__all__ = ["FORMATS", "NOTE", "deployment_prices", "list_prices", "render_prices"]

FORMATS = ("table", "json", "csv")
NOTE = (
    f"US dollars per million tokens: list prices as published, as of {PRICE_LIST_AS_OF}; "
    "override them in keel.yaml (deployments[].price)"
)
_PRICE_FIELDS = ("input_per_mtok", "cached_input_per_mtok", "output_per_mtok")
_DEPLOYMENT_FIELDS = (*_PRICE_FIELDS, "per_request", "hourly_usd")


def list_prices() -> list[dict[str, Any]]:
    """Every entry of the bundled list, one row each, in the list's order."""
    return [
        {"name": name, "provider": PRICE_PROVIDERS[name]}
        | {field: getattr(price, field) for field in _PRICE_FIELDS}
        for name, price in PRICE_LIST.items()
    ]


def deployment_prices(config: KeelConfig) -> list[dict[str, Any]]:
    """Each deployment with the list entry it names, the fields it overrides and the price
    it resolves to."""
    return [_deployment_row(d) for d in config.deployments]


def _deployment_row(deployment: DeploymentConfig) -> dict[str, Any]:
    given = deployment.price.model_dump(exclude_none=True, exclude={"list"})
    price = deployment.prices
    return {
        "deployment": deployment.name,
        "model": deployment.model,
        "list": deployment.price.list,
        "overrides": given,
    } | {field: getattr(price, field) for field in _DEPLOYMENT_FIELDS}


def render_prices(rows: list[dict[str, Any]], fmt: str) -> str:
    """``rows`` as ``fmt``; JSON carries the as-of date with them, a table ends with it."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "json":
        body = {"as_of": PRICE_LIST_AS_OF, "note": NOTE, "prices": rows}
        return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
    flat = [{k: _cell(v) for k, v in row.items()} for row in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["name"])
        writer.writeheader()
        writer.writerows(flat)
        return out.getvalue().rstrip("\n")
    if not rows:
        return "no deployments in that config"
    return _table(flat) + "\n\n" + NOTE


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={v:g}" for k, v in value.items()) or "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


_HEADINGS = {
    "input_per_mtok": "input $/Mtok",
    "cached_input_per_mtok": "cached input $/Mtok",
    "output_per_mtok": "output $/Mtok",
    "per_request": "$/request",
    "hourly_usd": "$/hour",
}


def _table(rows: list[dict[str, str]]) -> str:
    columns = list(rows[0])
    header = [_HEADINGS.get(c, c) for c in columns]
    numeric_from = columns.index("input_per_mtok")
    return render_table([header, *([row[c] for c in columns] for row in rows)], numeric_from)

"""deploy/grafana/keel.json: a Grafana dashboard whose every query reads metrics keel exports
and parses as PromQL (promtool), with the sections the docs promise and a datasource to pick."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from keel.monitor.metrics import Metrics
from tests.deploy.promql import SCRAPE_SERIES, exported_names, metric_names
from tests.e2e.prometheus_proc import debian_binary

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "keel.json"
SECTIONS = ["Traffic", "Latency and overhead", "Errors by deployment",
            "Cost by team and budgets", "Rollouts", "Drift and quality"]  # fmt: skip
# What Grafana puts in place of its variables before it sends a query.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "30s", "$__range": "6h",
                     "$instance": ".*", "$model": ".*"}  # fmt: skip


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def queries() -> list[tuple[str, str]]:
    """(panel title, expression) of every target."""
    return [(p["title"], t["expr"]) for p in panels() for t in p["targets"]]


def variable_queries() -> list[str]:
    """The series the template variables take their values from: label_values(series, label)."""
    found = []
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["query"]["query"])
            assert match, variable["name"]
            found.append(match.group(1))
    return found


def test_a_recent_schema_with_a_datasource_to_pick_and_the_promised_sections() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 36
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == SECTIONS


def test_every_panel_asks_the_chosen_datasource_and_fits_the_grid() -> None:
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]


def test_every_query_names_a_metric_keel_exports() -> None:
    known = exported_names() | SCRAPE_SERIES
    for title, expr in queries():
        names = metric_names(expr)
        assert names, (title, expr)
        assert names <= known, (title, names - known)
    for series in variable_queries():
        assert metric_names(series) <= known, series


def test_every_metric_keel_exports_is_on_the_dashboard() -> None:
    shown = set().union(*(metric_names(expr) for _, expr in queries()))
    for family in Metrics().registry.collect():
        assert any(name.startswith(family.name) for name in shown), family.name


def test_every_query_parses_as_promql(tmp_path: Path) -> None:
    exprs = [expr for _, expr in queries()] + variable_queries()
    rules = []
    for i, expr in enumerate(exprs):
        for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr  # a variable Grafana would fill and this test does not
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [debian_binary("promtool"), "check", "rules", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout

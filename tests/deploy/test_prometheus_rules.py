"""deploy/prometheus: the scrape config and the alert rules pass promtool's checks, every alert
is unit-tested firing and quiet (keel.rules.test.yml, run by ``promtool test rules``), says
how bad it is and what to do, and reads only metrics keel exports."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from keel.monitor.metrics import Metrics
from tests.deploy.promql import SCRAPE_SERIES, exported_names, metric_names
from tests.e2e.prometheus_proc import debian_binary

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [debian_binary("promtool"), *args], capture_output=True, text=True, timeout=120,
        cwd=DEPLOY,
    )  # fmt: skip


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load((DEPLOY / "keel.rules.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules() -> None:
    result = promtool("check", "rules", "keel.rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_promtool_checks_the_scrape_config() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_runs_the_rules_unit_tests() -> None:
    result = promtool("test", "rules", "keel.rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_example_alertmanager_config_is_valid() -> None:
    amtool = debian_binary("amtool", "prometheus-alertmanager")
    result = subprocess.run(
        [amtool, "check-config", str(DEPLOY / "alertmanager.yml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load((DEPLOY / "keel.rules.test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    quiet = {case["alertname"] for case in cases if not case["exp_alerts"]}
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested quiet"


def test_every_alert_waits_says_how_bad_and_what_to_do() -> None:
    for rule in alerts():
        assert "for" in rule, rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"]) > 80, rule["alert"]


def test_every_alert_reads_metrics_keel_exports() -> None:
    known = exported_names() | SCRAPE_SERIES
    for rule in alerts():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= known, (rule["alert"], names - known)


def test_the_docs_name_every_alert_and_every_metric() -> None:
    page = (ROOT / "docs" / "monitoring.md").read_text()
    for rule in alerts():
        assert f"| `{rule['alert']}` |" in page, rule["alert"]
    for family in Metrics().registry.collect():
        suffix = "_total" if family.type == "counter" else ""
        assert f"| `{family.name}{suffix}` |" in page, family.name

"""deployments[].health: off by default; every bad value refused with its line and field."""

from __future__ import annotations

import pytest

from keel.config.loader import parse_config
from keel.config.schema import HealthConfig
from keel.errors import ConfigError, ConfigProblem

BASE = """\
regions: {r: {}}
deployments:
  - name: gpu
    provider: openai
    base_url: http://gpu1:8000/v1
    model: m
    region: r
"""


def problem(health: str) -> ConfigProblem:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + "    health:\n" + health, "k.yaml")
    (found,) = info.value.problems
    return found


def test_probes_are_off_by_default() -> None:
    health = parse_config(BASE, "k.yaml").deployment("gpu").health
    assert health == HealthConfig()
    assert (health.probe, health.interval_s, health.timeout_s, health.path) == (
        False, 5.0, 2.0, "/models"
    )  # fmt: skip
    assert (health.unhealthy_after, health.healthy_after) == (2, 1)


def test_a_health_section_loads() -> None:
    text = BASE + "    health: {probe: true, interval_s: 1, path: /health, healthy_after: 3}\n"
    health = parse_config(text, "k.yaml").deployment("gpu").health
    assert (health.probe, health.interval_s, health.path, health.healthy_after) == (
        True, 1.0, "/health", 3
    )  # fmt: skip


def test_an_unknown_health_field_is_refused_with_its_line() -> None:
    found = problem("      probe: true\n      every_s: 3\n")
    assert (found.line, found.field) == (10, "deployments[0].health.every_s")


def test_a_relative_path_is_refused() -> None:
    found = problem("      path: models\n")
    assert found.field == "deployments[0].health.path"
    assert "must start with /" in found.message


@pytest.mark.parametrize("field", ["interval_s", "timeout_s", "unhealthy_after", "healthy_after"])
def test_zero_is_refused(field: str) -> None:
    assert problem(f"      {field}: 0\n").field == f"deployments[0].health.{field}"

"""models.<name>.rollout and .shadow: what loads, and every refusal with its line and field."""

from __future__ import annotations

import pytest

from keel.config.loader import parse_config
from keel.errors import ConfigError, ConfigProblem

BASE = """\
regions: {r: {}}
deployments:
  - {name: v1, provider: sim, model: m, region: r}
  - {name: v2, provider: sim, model: m, region: r}
  - {name: other, provider: sim, model: m, region: r}
models:
  chat:
    deployments: [v1, v2]
"""  # the model's own fields start at line 8


def problem(extra: str) -> ConfigProblem:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + extra, "keel.yaml")
    (found,) = info.value.problems
    return found


def test_a_canary_and_a_shadow_load_with_their_defaults() -> None:
    config = parse_config(
        BASE + "    rollout: {mode: canary, canary: v2, percent: 12.5}\n"
        "    shadow: {deployment: other, percent: 10}\n",
        "keel.yaml",
    )
    rollout, shadow = config.models["chat"].rollout, config.models["chat"].shadow
    assert rollout is not None and shadow is not None
    assert (rollout.canary, rollout.percent, rollout.sticky) == ("v2", 12.5, "user")
    rule = rollout.auto_rollback
    assert (rule.enabled, rule.min_requests, rule.max_error_rate_increase, rule.max_p95_ratio) == (
        True, 50, 0.05, 1.5,
    )  # fmt: skip
    assert (shadow.deployment, shadow.percent) == ("other", 10)
    assert config.server.rollout_refresh_s == 1.0


def test_an_ab_split_loads() -> None:
    config = parse_config(BASE + "    rollout: {mode: ab, weights: {v1: 70, v2: 30}}\n", "k.yaml")
    rollout = config.models["chat"].rollout
    assert rollout is not None and rollout.weights == {"v1": 70, "v2": 30}


def test_a_canary_outside_the_model_is_refused_with_its_line() -> None:
    found = problem("    rollout:\n      mode: canary\n      canary: other\n      percent: 5\n")
    assert (found.line, found.field) == (11, "models.chat.rollout.canary")
    assert "'other'" in found.message and "v1, v2" in found.message


def test_an_unknown_canary_is_refused() -> None:
    found = problem("    rollout: {mode: canary, canary: v3, percent: 5}\n")
    assert (found.line, found.field) == (9, "models.chat.rollout.canary")


def test_a_canary_without_a_baseline_is_refused() -> None:
    text = BASE.replace("[v1, v2]", "[v2]") + "    rollout: {mode: canary, canary: v2}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "keel.yaml")
    (found,) = info.value.problems
    assert found.field == "models.chat.rollout.canary" and "baseline" in found.message


def test_a_weight_outside_the_model_is_refused_with_its_line() -> None:
    found = problem("    rollout:\n      mode: ab\n      weights:\n        v1: 1\n        vx: 2\n")
    assert (found.line, found.field) == (13, "models.chat.rollout.weights.vx")


def test_an_unknown_shadow_deployment_is_refused_with_its_line() -> None:
    found = problem("    shadow:\n      deployment: v9\n      percent: 5\n")
    assert (found.line, found.field) == (10, "models.chat.shadow.deployment")
    assert "v9" in found.message and "other" in found.message


@pytest.mark.parametrize(
    ("extra", "line", "field", "words"),
    [
        ("    rollout: {mode: canary, canary: v2, percent: 120}\n", 9,
         "models.chat.rollout.percent", "less than or equal to 100"),
        ("    rollout: {mode: canary, percent: 5}\n", 9, "models.chat.rollout", "canary:"),
        ("    rollout: {mode: ab}\n", 9, "models.chat.rollout", "weights"),
        ("    rollout: {mode: ab, weights: {v1: 1}, percent: 5}\n", 9, "models.chat.rollout",
         "belong to mode: canary"),
        ("    rollout: {mode: canary, canary: v2, weights: {v1: 1}}\n", 9, "models.chat.rollout",
         "weights belong to mode: ab"),
        ("    rollout: {mode: ab, weights: {v1: -1, v2: 1}}\n", 9,
         "models.chat.rollout.weights.v1", "greater than or equal to 0"),
        ("    rollout: {mode: blue}\n", 9, "models.chat.rollout.mode", "canary"),
        ("    rollout: {mode: canary, canary: v2, sticky: ip}\n", 9,
         "models.chat.rollout.sticky", "user"),
        ("    rollout: {mode: canary, canary: v2, percentage: 5}\n", 9,
         "models.chat.rollout.percentage", "unknown field"),
        ("    rollout:\n      mode: canary\n      canary: v2\n      auto_rollback:\n"
         "        min_requests: 0\n", 13, "models.chat.rollout.auto_rollback.min_requests",
         "greater than 0"),
        ("    rollout:\n      mode: canary\n      canary: v2\n      auto_rollback:\n"
         "        max_p95_ratio: 0.5\n", 13, "models.chat.rollout.auto_rollback.max_p95_ratio",
         "greater than or equal to 1"),
        ("    shadow: {deployment: other, percent: -1}\n", 9, "models.chat.shadow.percent",
         "greater than or equal to 0"),
        ("    shadow: {deployment: other}\n", 9, "models.chat.shadow.percent", "required"),
    ],
)  # fmt: skip
def test_bad_rollout_fields_are_refused(extra: str, line: int, field: str, words: str) -> None:
    found = problem(extra)
    assert (found.line, found.field) == (line, field), found
    assert words in found.message, found.message


def test_a_bad_refresh_interval_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("server:\n  rollout_refresh_s: 0\n", "keel.yaml")
    (found,) = info.value.problems
    assert (found.line, found.field) == (2, "server.rollout_refresh_s")

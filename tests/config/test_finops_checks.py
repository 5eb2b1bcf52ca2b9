"""FinOps references in keel.yaml: price list names, unique budget and rate-limit names, and
the teams and models they match. Each refusal points at the line and says what to do."""

from __future__ import annotations

import pytest

from keel.config.loader import parse_config
from keel.config.prices import PRICE_LIST
from keel.config.schema import KeelConfig
from keel.errors import ConfigError, ConfigProblem

BASE = """\
regions:
  eu: {}
deployments:
  - {name: a, provider: sim, model: m, region: eu, price: gpt-4o}
  - {name: b, provider: sim, model: m, region: eu, price: {list: claude-sonnet-4}}
models:
  chat: [a, b]
  embed: [a]
teams:
  alpha: {}
  beta: {}
"""


def parse(extra: str, base: str = BASE) -> KeelConfig:
    return parse_config(base + extra, "k.yaml")


def problems(extra: str, base: str = BASE) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        parse(extra, base)
    return info.value.problems


def test_list_names_and_known_matches_load() -> None:
    config = parse("""\
budgets:
  - {name: alpha-month, scope: team, match: alpha, limit_usd: 100}
  - {name: each-team, scope: team, limit_usd: 10}
  - {name: one-project, scope: project, match: anything, limit_usd: 10}
rate_limits:
  - {name: chat-rpm, scope: model, match: chat, rpm: 100}
  - {name: beta-tpm, scope: team, match: beta, tpm: 10000}
  - {name: per-key, scope: key, match: key_abc, rpm: 5}
""")
    assert config.deployment("a").prices == PRICE_LIST["gpt-4o"]
    assert config.deployment("b").prices == PRICE_LIST["claude-sonnet-4"]
    assert [b.name for b in config.budgets] == ["alpha-month", "each-team", "one-project"]


@pytest.mark.parametrize(
    ("price", "field"),
    [("gpt4o", "deployments[2].price"), ("{list: gpt4o}", "deployments[2].price.list")],
)
def test_an_unknown_list_name_names_the_closest_and_keel_prices(price: str, field: str) -> None:
    base = BASE.replace("models:", f"  - {{name: c, provider: sim, model: m, region: eu, "
                        f"price: {price}}}\nmodels:")  # fmt: skip
    [problem] = problems("", base)
    assert (problem.field, problem.line) == (field, 6)
    assert "'gpt4o'" in problem.message and "gpt-4o" in problem.message
    assert "keel prices" in problem.message


def test_an_unknown_list_name_is_reported_with_other_problems() -> None:
    base = BASE.replace("price: gpt-4o", "price: {list: nope-9000, input_per_mtok: -1}")
    fields = {p.field for p in problems("", base)}
    assert fields == {"deployments[0].price.list", "deployments[0].price.input_per_mtok"}


def test_duplicate_budget_and_rate_limit_names_are_refused() -> None:
    found = problems("""\
budgets:
  - {name: cap, scope: team, limit_usd: 1}
  - {name: cap, scope: project, limit_usd: 2}
rate_limits:
  - {name: cap, scope: key, rpm: 1}
  - {name: rpm, scope: key, rpm: 1}
  - {name: rpm, scope: team, rpm: 2}
""")
    assert [(p.field, p.line) for p in found] == [
        ("budgets[1].name", 14),
        ("rate_limits[2].name", 18),
    ]
    assert [p.message.split(":")[0] for p in found] == [
        "duplicate name 'cap'",
        "duplicate name 'rpm'",
    ]


def test_a_team_budget_must_match_a_configured_team() -> None:
    [problem] = problems("budgets:\n  - {name: x, scope: team, match: gamma, limit_usd: 1}\n")
    assert problem.field == "budgets[0].match"
    assert "unknown team 'gamma'" in problem.message and "alpha, beta" in problem.message


@pytest.mark.parametrize(
    ("scope", "match", "known"), [("model", "chatt", "chat, embed"), ("team", "gama", "alpha")]
)
def test_a_rate_limit_must_match_a_configured_model_or_team(
    scope: str, match: str, known: str
) -> None:
    [problem] = problems(f"rate_limits:\n  - {{name: x, scope: {scope}, match: {match}, rpm: 1}}\n")
    assert (problem.field, problem.line) == ("rate_limits[0].match", 13)
    assert f"unknown {scope} {match!r}" in problem.message and known in problem.message
    assert '"*"' in problem.message


def test_no_teams_at_all_says_so() -> None:
    base = BASE.split("teams:")[0]
    [problem] = problems("budgets:\n  - {name: x, scope: team, match: alpha, limit_usd: 1}\n", base)
    assert "none defined" in problem.message


def test_a_model_rate_limit_may_match_a_predictive_model() -> None:
    config = parse("""\
predictive:
  models:
    fraud: {price_per_prediction: 0.001, price_per_row: 0.0001}
rate_limits:
  - {name: fraud-rpm, scope: model, match: fraud, rpm: 10}
""")
    assert config.predictive.models["fraud"].price_per_row == 0.0001
    [problem] = problems("rate_limits:\n  - {name: x, scope: model, match: fraud, rpm: 1}\n")
    assert "unknown model 'fraud'" in problem.message
    assert "predictive.models" in problem.message


def test_a_negative_prediction_price_is_refused() -> None:
    [problem] = problems("predictive:\n  models:\n    fraud: {price_per_row: -1}\n")
    assert problem.field == "predictive.models.fraud.price_per_row"

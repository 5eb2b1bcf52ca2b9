import pytest

from keel.config.loader import parse_config
from keel.errors import ConfigError

BASE = """\
regions: {r: {}}
deployments:
  - {name: a, provider: sim, model: m, region: r}
  - {name: b, provider: sim, model: m, region: r}
models:
  chat:
    deployments: [a, b]
"""


def test_a_strategy_and_weights_load() -> None:
    config = parse_config(BASE + "    strategy: weighted\n    weights: {a: 3}\n", "k.yaml")
    assert config.models["chat"].strategy == "weighted"
    assert config.models["chat"].weights == {"a": 3}


def test_a_weight_for_a_deployment_outside_the_model_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + "    strategy: weighted\n    weights: {z: 3}\n", "k.yaml")
    (problem,) = info.value.problems
    assert problem.field == "models.chat.weights.z" and problem.line == 9


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + "    strategy: fastest\n", "k.yaml")
    assert info.value.problems[0].field == "models.chat.strategy"

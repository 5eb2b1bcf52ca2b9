"""The failure policy, fallbacks and queue settings of keel.yaml, and the mistakes refused."""

import pytest

from keel.config.loader import parse_config
from keel.errors import ConfigError

BASE = """\
regions: {r: {}}
deployments:
  - {name: a, provider: sim, model: m, region: r}
  - {name: b, provider: sim, model: m, region: r, prefill: true, max_queue: 4}
models:
  chat:
    deployments: [a]
  long: [b]
"""


def problems(extra: str) -> list[tuple[str, int | None]]:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + extra, "k.yaml")
    return [(p.field, p.line) for p in info.value.problems]


def test_the_defaults_retry_what_a_retry_cures_and_return_what_it_cannot() -> None:
    config = parse_config(BASE, "k.yaml")
    policy = config.models["chat"].on_error
    assert (policy.rate_limited, policy.server_error, policy.connection) == ("retry",) * 3
    assert (policy.timeout, policy.refused) == ("failover", "failover")
    assert (policy.context_length, policy.content_policy, policy.bad_request) == (
        "fallback", "return", "return",
    )  # fmt: skip
    assert config.deployment("b").prefill and config.deployment("b").max_queue == 4


def test_a_policy_and_a_context_fallback_load() -> None:
    settings = "    context_fallback: long\n    on_error: {content_policy: failover}\n"
    text = BASE.replace("    deployments: [a]\n", "    deployments: [a]\n" + settings)
    model = parse_config(text, "k.yaml").models["chat"]
    assert model.context_fallback == "long" and model.on_error.content_policy == "failover"


def test_a_silent_deployment_cannot_be_set_to_retry() -> None:
    assert problems("  x:\n    deployments: [a]\n    on_error: {timeout: retry}\n") == [
        ("models.x.on_error.timeout", 11)
    ]


def test_an_unknown_context_fallback_is_refused_with_its_line() -> None:
    assert problems("  x:\n    deployments: [a]\n    context_fallback: huge\n") == [
        ("models.x.context_fallback", 11)
    ]


def test_context_fallbacks_that_go_round_in_a_circle_are_refused() -> None:
    text = BASE.replace("  long: [b]\n", "  long: {deployments: [b], context_fallback: chat}\n")
    text = text.replace(
        "    deployments: [a]\n", "    deployments: [a]\n    context_fallback: long\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, "k.yaml")
    messages = [p.message for p in info.value.problems]
    assert "chat -> long -> chat" in messages[0] and len(messages) == 2

"""Config for many similar deployments: shared defaults, YAML anchors, one timeout, clear names."""

from __future__ import annotations

import textwrap

import pytest

from keel.config.loader import parse_config
from keel.config.schema import KeelConfig, TimeoutsConfig
from keel.errors import ConfigError, ConfigProblem


def parse(text: str) -> KeelConfig:
    return parse_config(textwrap.dedent(text), "keel.yaml")


def problems(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return info.value.problems


DEFAULTS = """\
regions:
  eu: {}
deployment_defaults:
  provider: openai
  region: eu
  retries: 0
  timeouts:
    first_token_s: 8
    total_s: 120
deployments:
  - name: gpu1
    base_url: http://gpu1:8000/v1
    model: llama
  - name: gpu2
    base_url: http://gpu2:8000/v1
    model: llama
    retries: 3
    timeouts:
      total_s: 30
models:
  chat: [gpu1, gpu2]
"""


def test_deployment_defaults_are_merged_into_every_deployment() -> None:
    config = parse(DEFAULTS)
    gpu1, gpu2 = config.deployment("gpu1"), config.deployment("gpu2")
    assert (gpu1.provider, gpu1.region, gpu1.retries) == ("openai", "eu", 0)
    assert (gpu1.timeouts.first_token_s, gpu1.timeouts.total_s) == (8, 120)
    # The deployment's own value wins, and nested sections merge field by field.
    assert gpu2.retries == 3
    assert (gpu2.timeouts.first_token_s, gpu2.timeouts.total_s) == (8, 30)
    assert gpu2.timeouts.first_byte_s == TimeoutsConfig().first_byte_s


def test_a_bad_default_is_reported_once_at_the_defaults_line() -> None:
    text = DEFAULTS.replace("first_token_s: 8", "first_token_s: soon")
    (found,) = problems(text)
    assert found.field == "deployment_defaults.timeouts.first_token_s"
    assert found.line == 8 and found.file == "keel.yaml"


def test_an_unknown_default_region_points_at_the_defaults_block() -> None:
    (found,) = problems(DEFAULTS.replace("region: eu", "region: us"))
    assert found.field == "deployment_defaults.region" and found.line == 5
    assert "unknown region 'us'" in found.message


def test_a_deployments_own_bad_value_still_points_at_the_deployment() -> None:
    (found,) = problems(DEFAULTS.replace("retries: 3", "retries: -1"))
    assert found.field == "deployments[1].retries" and found.line == 17


def test_defaults_may_not_name_a_deployment() -> None:
    (found,) = problems(DEFAULTS.replace("  provider: openai\n", "  provider: openai\n  name: x\n"))
    assert found.field == "deployment_defaults.name" and "own name" in found.message


def test_x_keys_carry_yaml_anchors_and_are_ignored() -> None:
    config = parse("""\
        x-gpu: &gpu
          provider: openai
          region: eu
          model: llama
          timeouts: {total_s: 42}
        regions:
          eu: {}
        deployments:
          - {<<: *gpu, name: gpu1, base_url: "http://gpu1:8000/v1"}
          - {<<: *gpu, name: gpu2, base_url: "http://gpu2:8000/v1", model: qwen}
        models:
          chat: [gpu1, gpu2]
        """)
    assert [d.model for d in config.deployments] == ["llama", "qwen"]
    assert config.deployment("gpu2").timeouts.total_s == 42


def test_other_unknown_top_level_keys_are_still_refused() -> None:
    (found,) = problems("xgpu: {}\n")
    assert found.field == "xgpu" and "unknown field" in found.message


SHORTHAND = """\
regions:
  eu: {}
deployments:
  - name: quick
    provider: sim
    model: sim
    region: eu
    timeout_s: 10
  - name: mixed
    provider: sim
    model: sim
    region: eu
    timeout_s: 120
    timeouts: {first_token_s: 5}
"""


def test_timeout_s_sets_every_per_attempt_timeout_consistently() -> None:
    config = parse(SHORTHAND)
    base = TimeoutsConfig()
    quick = config.deployment("quick").timeouts
    assert quick.total_s == 10
    assert quick.first_byte_s == min(base.first_byte_s, 10)
    assert quick.first_token_s == min(base.first_token_s, 10)
    assert quick.connect_s == min(base.connect_s, 10)
    assert quick.between_chunks_s == min(base.between_chunks_s, 10)
    mixed = config.deployment("mixed").timeouts
    assert (mixed.total_s, mixed.first_token_s) == (120, 5)  # the fine-grained one wins
    assert mixed.first_byte_s == base.first_byte_s


def test_timeout_s_works_from_the_defaults_block() -> None:
    config = parse(DEFAULTS.replace("  retries: 0\n", "  retries: 0\n  timeout_s: 20\n"))
    gpu1 = config.deployment("gpu1").timeouts
    assert (gpu1.first_token_s, gpu1.total_s, gpu1.first_byte_s) == (8, 120, 20)


def test_a_bad_timeout_s_is_one_problem() -> None:
    (found,) = problems(SHORTHAND.replace("timeout_s: 10", "timeout_s: 0"))
    assert found.field == "deployments[0].timeout_s" and found.line == 8


NAMES = """\
regions:
  eu: {}
deployments:
  - {name: small-gpu, provider: sim, model: sim, region: eu}
  - {name: big-gpu, provider: sim, model: sim, region: eu}
models:
  chat: [small-gpu]
  chat-long: [big-gpu]
"""


def test_a_model_name_in_a_deployments_list_is_explained() -> None:
    (found,) = problems(NAMES.replace("chat: [small-gpu]", "chat: [small-gpu, chat-long]"))
    assert found.field == "models.chat.deployments[1]"
    assert "'chat-long' is a logical model, not a deployment" in found.message
    assert "context_fallback" in found.message


def test_a_deployment_name_as_context_fallback_is_explained() -> None:
    text = NAMES.replace(
        "chat: [small-gpu]", "chat: {deployments: [small-gpu], context_fallback: big-gpu}"
    )
    (found,) = problems(text)
    assert found.field == "models.chat.context_fallback"
    assert "'big-gpu' is a deployment" in found.message and "chat-long" in found.message


def test_a_misspelt_target_gets_the_closest_name_of_the_right_kind() -> None:
    (found,) = problems(NAMES.replace("chat: [small-gpu]", "chat: [smal-gpu]"))
    assert "unknown deployment 'smal-gpu'" in found.message and "'small-gpu'" in found.message
    text = NAMES.replace(
        "chat: [small-gpu]", "chat: {deployments: [small-gpu], context_fallback: chat-lon}"
    )
    (found,) = problems(text)
    assert "unknown model 'chat-lon'" in found.message and "'chat-long'" in found.message

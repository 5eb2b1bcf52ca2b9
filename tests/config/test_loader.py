"""Loading keel.yaml: every refusal names the file, the line and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from keel.config.loader import DEMO_CONFIG, default_config_path, load_config, parse_config
from keel.config.schema import KeelConfig
from keel.errors import ConfigError, ConfigProblem

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
server:
  port: 8081
regions:
  eu: {}
deployments:
  - name: sim-eu
    provider: sim
    model: sim-llm
    region: eu
  - name: gpu
    provider: openai
    base_url: http://gpu1:8000/v1
    model: llama
    region: eu
models:
  chat: [sim-eu, gpu]
teams:
  alpha:
    models: [chat]
"""


def parse(text: str) -> KeelConfig:
    return parse_config(textwrap.dedent(text), "keel.yaml")


def problems(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert info.value.problems, "ConfigError without problems"
    return info.value.problems


def only_problem(text: str) -> ConfigProblem:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_a_good_config_loads() -> None:
    config = parse(GOOD)
    assert config.server.port == 8081
    assert config.deployment("gpu").base_url == "http://gpu1:8000/v1"
    assert config.models["chat"].deployments == ["sim-eu", "gpu"]
    assert config.teams["alpha"].may_use("chat") and not config.teams["alpha"].may_use("x")


def test_an_empty_file_is_the_defaults() -> None:
    assert parse("") == KeelConfig()


@pytest.mark.parametrize(
    "path", [REPO / "keel" / "config" / "demo.yaml", REPO / "examples" / "demo.yaml"]
)
def test_the_demo_config_loads(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.delenv("KEEL_DEMO_API_KEY", raising=False)
    config = load_config(str(path))
    assert config.server.demo is True
    assert set(config.models) >= {"demo-chat", "demo-embed"}
    assert config.teams["demo"].api_keys[0].get_secret_value() == "sk-keel-demo"


def test_examples_demo_is_the_bundled_demo() -> None:
    bundled = (REPO / "keel" / "config" / "demo.yaml").read_text()
    assert (REPO / "examples" / "demo.yaml").read_text() == bundled


def test_without_keel_yaml_the_demo_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEEL_DEMO_API_KEY", raising=False)
    assert default_config_path() == DEMO_CONFIG
    assert load_config().server.demo is True
    assert load_config(None) == load_config(DEMO_CONFIG)

    (tmp_path / "keel.yaml").write_text(GOOD)
    assert default_config_path() == "keel.yaml"
    assert load_config().server.port == 8081


def test_an_unknown_field_is_refused_with_its_line() -> None:
    problem = only_problem("""\
        server:
          port: 8080
          colour: blue
        """)
    assert (problem.file, problem.line, problem.field) == ("keel.yaml", 3, "server.colour")
    assert "unknown field" in problem.message
    assert str(problem).startswith("keel.yaml:3: server.colour:")


def test_an_unknown_field_deep_in_a_list_is_located() -> None:
    text = GOOD.replace("    model: llama\n", "    model: llama\n    weight: 3\n")
    problem = only_problem(text)
    assert (problem.line, problem.field) == (14, "deployments[1].weight")


def test_a_deployment_in_an_unknown_region() -> None:
    problem = only_problem(
        GOOD.replace("    region: eu\n  - name: gpu", "    region: mars\n  - name: gpu")
    )
    assert (problem.line, problem.field) == (9, "deployments[0].region")
    assert "mars" in problem.message and "eu" in problem.message  # names what exists


def test_a_model_with_an_unknown_deployment() -> None:
    problem = only_problem(GOOD.replace("[sim-eu, gpu]", "[sim-eu, gpu-typo]"))
    assert (problem.line, problem.field) == (16, "models.chat.deployments[1]")
    assert "gpu-typo" in problem.message


def test_a_team_with_an_unknown_model() -> None:
    problem = only_problem(GOOD.replace("models: [chat]", "models: [chat, chatt]"))
    assert (problem.line, problem.field) == (19, "teams.alpha.models[1]")
    assert "chatt" in problem.message


def test_a_duplicate_deployment_name() -> None:
    text = GOOD.replace("  - name: gpu\n", "  - name: sim-eu\n").replace(", gpu]", "]")
    problem = only_problem(text)
    assert (problem.line, problem.field) == (10, "deployments[1].name")
    assert "duplicate" in problem.message and "sim-eu" in problem.message


def test_an_openai_deployment_needs_base_url() -> None:
    problem = only_problem(GOOD.replace("    base_url: http://gpu1:8000/v1\n", ""))
    assert problem.line == 10  # the deployment's entry
    assert problem.field.startswith("deployments[1]")
    assert "base_url" in problem.message


def test_an_openai_deployment_without_base_url_names_the_field() -> None:
    problem = only_problem(GOOD.replace("    base_url: http://gpu1:8000/v1\n", ""))
    assert problem.field == "deployments[1].base_url"


def test_a_missing_base_url_is_reported_beside_another_field_error() -> None:
    text = GOOD.replace("    base_url: http://gpu1:8000/v1\n", "    max_concurrency: lots\n")
    found = problems(text)
    assert len(found) == 2, found
    assert any("base_url" in p.message for p in found)


def test_a_missing_required_field() -> None:
    problem = only_problem(GOOD.replace("    model: sim-llm\n", ""))
    assert (problem.line, problem.field) == (6, "deployments[0].model")


def test_a_wrong_type() -> None:
    problem = only_problem(GOOD.replace("port: 8081", "port: eighty"))
    assert (problem.line, problem.field) == (2, "server.port")


def test_an_unknown_store_scheme() -> None:
    problem = only_problem("store:\n  url: mysql://db/keel\n")
    assert (problem.line, problem.field) == (2, "store.url")
    assert "postgresql://" in problem.message


def test_invalid_yaml_names_the_line() -> None:
    problem = only_problem("server:\n  port: 8080\n host: x\n")
    assert problem.line == 3
    assert "YAML" in problem.message


def test_a_repeated_key_is_refused() -> None:
    found = problems(GOOD + "teams:\n  beta: {}\n")
    assert [(p.line, p.field) for p in found] == [(20, "teams")]


def test_a_top_level_that_is_not_a_mapping() -> None:
    problem = only_problem("- server\n- models\n")
    assert problem.line == 1 and "mapping" in problem.message


def test_several_problems_are_all_reported() -> None:
    found = problems("""\
        server:
          colour: blue
          port: -1
        store:
          batch: 3
        """)
    assert {(p.line, p.field) for p in found} == {
        (2, "server.colour"),
        (3, "server.port"),
        (5, "store.batch"),
    }


def test_several_reference_problems_are_all_reported() -> None:
    text = GOOD.replace("region: eu\n  - name: gpu", "region: mars\n  - name: gpu")
    text = text.replace("[sim-eu, gpu]", "[sim-eu, nope]")
    assert {(p.line, p.field) for p in problems(text)} == {
        (9, "deployments[0].region"),
        (16, "models.chat.deployments[1]"),
    }


def test_env_and_schema_problems_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEL_TEST_UNSET", raising=False)
    found = problems("""\
        server:
          host: ${KEEL_TEST_UNSET}
          colour: blue
        """)
    assert {(p.line, p.field) for p in found} == {(2, "server.host"), (3, "server.colour")}


def test_schema_and_reference_problems_are_reported_together() -> None:
    text = GOOD.replace("region: eu\n  - name: gpu", "region: mars\n  - name: gpu")
    text = text.replace("port: 8081", "port: 8081\n  colour: blue")
    assert {(p.line, p.field) for p in problems(text)} == {
        (3, "server.colour"),
        (10, "deployments[0].region"),
    }


def test_env_variables_are_interpolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_TEST_HOST", "0.0.0.0")
    monkeypatch.setenv("KEEL_TEST_KEY", "sk-from-env")
    monkeypatch.delenv("KEEL_TEST_PORT", raising=False)
    config = parse("""\
        server:
          host: ${KEEL_TEST_HOST}
          port: ${KEEL_TEST_PORT:-9090}
        regions: {eu: {}}
        deployments:
          - name: up
            provider: openai
            base_url: http://${KEEL_TEST_HOST}:8000/v1
            model: m
            region: eu
            api_key: ${KEEL_TEST_KEY}
        teams:
          alpha:
            api_keys: ["${KEEL_TEST_TEAM_KEY:-sk-default}"]
        """)
    assert config.server.host == "0.0.0.0"
    assert config.server.port == 9090
    assert config.deployments[0].base_url == "http://0.0.0.0:8000/v1"
    api_key = config.deployments[0].api_key
    assert api_key is not None and api_key.get_secret_value() == "sk-from-env"
    assert config.teams["alpha"].api_keys[0].get_secret_value() == "sk-default"


def test_a_set_variable_wins_over_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_TEST_PORT", "7070")
    assert parse("server:\n  port: ${KEEL_TEST_PORT:-9090}\n").server.port == 7070


def test_an_undefined_env_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEL_TEST_UNSET", raising=False)
    text = GOOD.replace("    model: llama\n", "    model: llama\n    api_key: ${KEEL_TEST_UNSET}\n")
    problem = only_problem(text)
    assert (problem.line, problem.field) == (14, "deployments[1].api_key")
    assert "KEEL_TEST_UNSET" in problem.message


def test_every_undefined_env_variable_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEL_TEST_UNSET_A", raising=False)
    monkeypatch.delenv("KEEL_TEST_UNSET_B", raising=False)
    found = problems("server:\n  host: ${KEEL_TEST_UNSET_A}\nstore:\n  url: ${KEEL_TEST_UNSET_B}\n")
    assert {(p.line, p.field) for p in found} == {(2, "server.host"), (4, "store.url")}


def test_a_file_secret_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "upstream.key"
    secret.write_text("sk-from-file\n")
    text = GOOD.replace("    model: llama\n", f"    model: llama\n    api_key: file:{secret}\n")
    api_key = parse(text).deployment("gpu").api_key
    assert api_key is not None and api_key.get_secret_value() == "sk-from-file"


def test_an_unreadable_file_secret_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.key"
    text = GOOD.replace("    model: llama\n", f"    model: llama\n    api_key: file:{missing}\n")
    problem = only_problem(text)
    assert (problem.line, problem.field) == (14, "deployments[1].api_key")
    assert str(missing) in problem.message


def test_a_file_secret_in_team_keys_is_refused_when_unreadable(tmp_path: Path) -> None:
    problem = only_problem(f"teams:\n  alpha:\n    api_keys:\n      - file:{tmp_path}\n")
    assert (problem.line, problem.field) == (4, "teams.alpha.api_keys[0]")


def test_an_unreadable_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path / "missing.yaml"))
    (problem,) = info.value.problems
    assert problem.file.endswith("missing.yaml") and "cannot read" in problem.message


def test_the_file_name_is_the_one_loaded(tmp_path: Path) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text("server:\n  colour: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert str(info.value.problems[0]).startswith(f"{path}:2: server.colour:")

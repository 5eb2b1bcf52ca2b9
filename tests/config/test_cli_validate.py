"""``keel validate``, ``keel config schema`` and ``keel up`` on a bad file, as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.e2e.procs import free_port, keel_cli

REPO = Path(__file__).resolve().parents[2]

BAD = """\
server:
  port: 8080
  colour: blue
regions:
  eu: {}
deployments:
  - name: sim
    provider: sim
    model: sim-llm
    region: eu
    max_concurrency: lots
  - name: gpu
    provider: openai
    model: llama
    region: eu
"""


def keel_in(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m keel`` run from another directory (for the ./keel.yaml default)."""
    env = {k: v for k, v in os.environ.items() if k != "KEEL_DEMO_API_KEY"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "keel", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip


def test_validate_accepts_a_good_file() -> None:
    result = keel_cli("validate", str(REPO / "examples" / "demo.yaml"))
    assert "ok" in result.stdout


def test_validate_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "keel.yaml"
    path.write_text(BAD)
    result = keel_cli("validate", str(path), check=False)
    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    for where in (
        f"{path}:3: server.colour:",
        f"{path}:11: deployments[0].max_concurrency:",
        f"{path}:12: deployments[1]",  # the openai deployment without base_url
    ):
        assert any(line.startswith(where) for line in lines), (where, result.stderr)
    assert "3 problem" in result.stderr
    assert "ok" not in result.stdout


def test_validate_reports_an_undefined_variable(tmp_path: Path) -> None:
    path = tmp_path / "keel.yaml"
    path.write_text("store:\n  url: ${KEEL_TEST_SURELY_UNSET_DB}\n")
    result = keel_cli("validate", str(path), check=False)
    assert result.returncode == 2
    assert f"{path}:2: store.url:" in result.stderr
    assert "KEEL_TEST_SURELY_UNSET_DB" in result.stderr


def test_validate_reports_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "keel.yaml"
    path.write_text("server:\n  port: [8080\n")
    result = keel_cli("validate", str(path), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}:")
    assert "YAML" in result.stderr


def test_validate_a_missing_file(tmp_path: Path) -> None:
    result = keel_cli("validate", str(tmp_path / "nope.yaml"), check=False)
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr and "cannot read" in result.stderr


def test_config_schema_is_json_schema() -> None:
    schema = orjson.loads(keel_cli("config", "schema").stdout)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False  # unknown sections are refused
    assert {"server", "store", "state", "regions", "deployments", "models", "teams"} <= set(
        schema["properties"]
    )
    deployment = schema["$defs"]["DeploymentConfig"]
    assert deployment["additionalProperties"] is False
    assert set(deployment["required"]) >= {"name", "provider", "model", "region"}


def test_up_refuses_a_bad_config_at_start(tmp_path: Path) -> None:
    path = tmp_path / "keel.yaml"
    path.write_text(BAD.replace("port: 8080", f"port: {free_port()}"))
    result = keel_cli("up", "--config", str(path), check=False)  # returns: it never serves
    assert result.returncode != 0
    assert f"{path}:3: server.colour:" in result.stderr


def test_without_keel_yaml_the_cli_uses_the_demo(tmp_path: Path) -> None:
    result = keel_in(tmp_path, "keys", "list", "--team", "demo")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".keel" / "keel.db").is_file()  # the demo config's store
    unknown = keel_in(tmp_path, "keys", "create", "--team", "alpha")
    assert unknown.returncode == 2
    assert "demo" in unknown.stderr  # the demo's only team is the one offered


def test_a_keel_yaml_in_the_directory_wins(tmp_path: Path) -> None:
    (tmp_path / "keel.yaml").write_text(
        f"store:\n  url: sqlite:///{tmp_path / 'mine.db'}\nteams:\n  mine: {{}}\n"
    )
    result = keel_in(tmp_path, "keys", "create", "--team", "mine")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mine.db").is_file()
    assert not (tmp_path / ".keel").exists()


@pytest.mark.parametrize("bad", ["server:\n  colour: 1\n", "server: [\n"])
def test_a_bad_keel_yaml_in_the_directory_is_refused(tmp_path: Path, bad: str) -> None:
    (tmp_path / "keel.yaml").write_text(bad)
    result = keel_in(tmp_path, "keys", "list")
    assert result.returncode == 2
    assert "keel.yaml:" in result.stderr

"""The gateway app in-process: /readyz shows every deployment, the up gauge follows breakers,
a scrape of /metrics says whether the store and the state backend answer."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from keel.config.schema import KeelConfig
from keel.gateway.app import Gateway, create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    sim = {"provider": "sim", "model": "sim", "region": "local"}
    config = KeelConfig.model_validate({
        "server": {"access_log": False},
        "store": {"url": f"sqlite:///{tmp_path / 'keel.db'}"},
        "regions": {"local": {}},
        "deployments": [{"name": "a", **sim, "health": {"probe": True, "interval_s": 60}},
                        {"name": "b", **sim}],
        "models": {"m": ["a", "b"]},
    })  # fmt: skip
    with TestClient(create_app(config)) as http:
        yield http


def gateway(client: TestClient) -> Gateway:
    found: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    return found


def up_gauge(client: TestClient, deployment: str) -> float:
    line = f'keel_deployment_up{{deployment="{deployment}"}} '
    text = client.get("/metrics").text
    return float(next(x for x in text.splitlines() if x.startswith(line)).rsplit(" ", 1)[1])


def test_readyz_shows_each_deployment(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "deployments": {
            "a": {"up": True, "breaker": "closed", "probe": "up"},
            "b": {"up": True, "breaker": "closed", "probe": "off"},
        },
    }
    assert (up_gauge(client, "a"), up_gauge(client, "b")) == (1.0, 1.0)


def test_a_deployment_held_down_is_shown_and_readyz_stays_200(client: TestClient) -> None:
    gateway(client).router.targets["a"].breaker.trip()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["deployments"]["a"] == {"up": False, "breaker": "open", "probe": "up"}
    assert (up_gauge(client, "a"), up_gauge(client, "b")) == (0.0, 1.0)
    gateway(client).router.targets["a"].breaker.reset()
    assert up_gauge(client, "a") == 1.0


def test_a_scrape_says_whether_the_store_answers_and_leaves_out_an_unused_state(
    client: TestClient,
) -> None:
    text = client.get("/metrics").text
    assert 'keel_store_up{backend="sqlite"} 1.0' in text.splitlines()
    assert "keel_state_up{" not in text  # no budget or rate limit: keel does not use it


def test_a_scrape_shows_a_state_backend_that_does_not_answer(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = KeelConfig.model_validate({
        "server": {"access_log": False},
        "store": {"url": f"sqlite:///{tmp_path / 'keel.db'}"},
        "state": {"url": f"redis://127.0.0.1:{port}/0", "timeout_s": 0.2},
        "regions": {"local": {}},
        "deployments": [{"name": "a", "provider": "sim", "model": "sim", "region": "local"}],
        "models": {"m": ["a"]},
        "budgets": [{"name": "cap", "scope": "team", "limit_usd": 5}],
    })  # fmt: skip
    with TestClient(create_app(config)) as http:
        lines = http.get("/metrics").text.splitlines()
    assert 'keel_state_up{backend="redis"} 0.0' in lines
    assert 'keel_store_up{backend="sqlite"} 1.0' in lines
    assert (
        'keel_budget_limit_usd{budget="cap",mode="hard",period="month",scope="team"} 5.0' in lines
    )


def test_with_tracing_off_keel_serves_a_call_without_importing_opentelemetry(
    tmp_path: Path,
) -> None:
    """Run in a fresh interpreter: this one's tests import the SDK."""
    script = f"""
import sys
from starlette.testclient import TestClient
from keel.config.schema import KeelConfig
from keel.gateway.app import create_app
config = KeelConfig.model_validate({{
    "server": {{"access_log": False}},
    "store": {{"url": "sqlite:///{tmp_path / "keel.db"}"}},
    "regions": {{"local": {{}}}},
    "deployments": [{{"name": "a", "provider": "sim", "model": "sim", "region": "local"}}],
    "models": {{"m": ["a"]}},
    "auth": {{"none": True}},
}})
with TestClient(create_app(config)) as http:
    body = {{"model": "m", "messages": [{{"role": "user", "content": "hi"}}]}}
    headers = {{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
    assert http.post("/v1/chat/completions", json=body, headers=headers).status_code == 200
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"

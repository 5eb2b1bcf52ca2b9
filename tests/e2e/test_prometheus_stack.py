"""The standard stack end to end: Debian's Prometheus scrapes a running keel with the shipped
rules (deploy/prometheus/keel.rules.yml, each ``for:`` cut to a second), Debian's
Alertmanager routes what fires to a webhook, and the alert for a deployment whose health probe
holds it down arrives there, with its labels and the annotations that say what to do."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from tests.e2e.procs import free_port, run_keel, sim_config
from tests.e2e.prometheus_proc import debian_binary, run_alertmanager, run_prometheus

KEY = "sk-prometheus"
RULES = Path(__file__).parents[2] / "deploy" / "prometheus" / "keel.rules.yml"


class Webhook:
    """An HTTP server on a free loopback port keeping every JSON body posted to it."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                body = self.rfile.read(int(self.headers["content-length"]))
                posts.append(orjson.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def alerts(self) -> list[dict[str, Any]]:
        return [alert for post in list(self.posts) for alert in post["alerts"]]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.thread.start()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()
        hook.thread.join(timeout=10)


def quick_rules() -> dict[str, Any]:
    """The shipped rules with every ``for:`` a second long, so the test need not wait minutes."""
    rules: dict[str, Any] = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    return rules


def keel_config() -> dict[str, Any]:
    """The sim behind ``m``, and ``dead``: a deployment on a port nobody listens on, probed."""
    config = sim_config(KEY)
    config["deployments"].append({
        "name": "dead", "provider": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1",
        "model": "x", "region": "local",
        "health": {"probe": True, "interval_s": 0.5, "timeout_s": 0.5, "unhealthy_after": 1},
    })  # fmt: skip
    config["models"]["gone"] = ["dead"]
    return config


def test_an_alert_for_a_deployment_held_down_reaches_the_webhook(
    tmp_path: Path, webhook: Webhook
) -> None:
    for name, package in [("prometheus", "prometheus"), ("promtool", "prometheus"),
                          ("prometheus-alertmanager", "prometheus-alertmanager")]:  # fmt: skip
        debian_binary(name, package)
    route = {"receiver": "hook", "group_by": ["alertname"], "group_wait": "1s",
             "group_interval": "1s", "repeat_interval": "1h"}  # fmt: skip
    receivers = [{"name": "hook", "webhook_configs": [{"url": webhook.url}]}]
    with (
        run_keel(tmp_path, keel_config()) as (keel, _, _),
        run_alertmanager(tmp_path, {"route": route, "receivers": receivers}) as alertmanager,
    ):
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"authorization": f"Bearer {KEY}"}
        answer = httpx.post(keel + "/v1/chat/completions", json=body, headers=headers, timeout=30)
        assert answer.status_code == 200
        config = prometheus_config(keel, alertmanager)
        with run_prometheus(tmp_path, config, quick_rules()) as prometheus:
            alert = wait_for(webhook, "KeelDeploymentDown", prometheus, timeout=180)
            scraped = httpx.get(prometheus + "/api/v1/query", params={"query": 'up{job="keel"}'})
    assert alert["status"] == "firing"
    assert alert["labels"]["deployment"] == "dead"
    assert alert["labels"]["severity"] == "warning"
    assert "dead gets no traffic" in alert["annotations"]["summary"]
    assert "GET /readyz" in alert["annotations"]["description"]
    assert scraped.json()["data"]["result"][0]["value"][1] == "1"
    healthy = [a for a in webhook.alerts() if a["labels"].get("deployment") == "s"]
    assert healthy == [], "the deployment that serves was reported down"


def prometheus_config(keel: str, alertmanager: str) -> dict[str, Any]:
    """Scrape keel and evaluate the rules every second; send alerts to ``alertmanager``."""
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "alerting": {"alertmanagers": [
            {"static_configs": [{"targets": [alertmanager.removeprefix("http://")]}]}
        ]},
        "scrape_configs": [{"job_name": "keel", "static_configs": [
            {"targets": [keel.removeprefix("http://")]}
        ]}],
    }  # fmt: skip


def wait_for(webhook: Webhook, name: str, prometheus: str, timeout: float) -> dict[str, Any]:
    """The first alert called ``name`` the webhook receives; on timeout, what Prometheus saw."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for alert in webhook.alerts():
            if alert["labels"]["alertname"] == name:
                return alert
        time.sleep(0.5)
    seen = httpx.get(prometheus + "/api/v1/alerts", timeout=10).text
    raise AssertionError(f"no {name} at the webhook within {timeout}s; Prometheus has: {seen}")

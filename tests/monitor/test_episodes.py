"""Findings become alert episodes: one alert when a condition starts, one resolve when it
ends, over two replicas sharing one store; in every webhook format."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from keel.config.finops import AlertsConfig
from keel.monitor.alerts import Alerter
from keel.monitor.episodes import Episodes
from keel.monitor.findings import Finding
from keel.store.base import Store
from tests.monitor.receiver import Receiver
from tests.monitor.test_alerts import Claims


def _finding(active: bool, value: float = 3.5) -> Finding:
    return Finding(
        kind="drift", subject="fraud:3", active=active, value=value, threshold=1.3,
        message="fraud:3 inputs drifted: amount (score 3.5)", details={"amount": value},
    )  # fmt: skip


def _alerts(url: str, fmt: str) -> AlertsConfig:
    hook: dict[str, Any] = {"url": url, "format": fmt}
    if fmt == "pagerduty":
        hook["routing_key"] = "R0UT1NGKEY"
    return AlertsConfig.model_validate({"webhooks": [hook], "backoff_s": 0.01})


async def test_two_replicas_send_one_alert_and_one_resolve(store: Store) -> None:
    async with Receiver() as hook:
        claims = Claims()  # the replicas' shared state, as for budget alerts
        alerters = [Alerter(_alerts(hook.url, "json"), store, claims) for _ in range(2)]
        replicas = [Episodes(store, a, resolve_after=2) for a in alerters]
        for a in alerters:
            await a.start()
        for _ in range(3):  # both see the drift on three checks
            for r in replicas:
                await r.report(_finding(True))
        assert len(await store.episodes(open_only=True)) == 1
        await replicas[0].report(_finding(False))  # one quiet check does not end it
        assert len(await store.episodes(open_only=True)) == 1
        for _ in range(2):
            for r in replicas:
                await r.report(_finding(False, 0.2))
        for a in alerters:
            await a.close(timeout_s=30)
    bodies = [p.json() for p in hook.posts]
    assert [b["state"] for b in bodies] == ["firing", "resolved"]
    assert bodies[0]["kind"] == "drift" and bodies[0]["subject"] == "fraud:3"
    assert bodies[0]["details"] == {"amount": 3.5}
    assert bodies[1]["message"].startswith("resolved after")
    assert bodies[0]["incident_key"] == bodies[1]["incident_key"]
    (episode,) = await store.episodes()
    assert episode.resolved_at is not None and episode.message.startswith("fraud:3 inputs")
    recorded = await store.alerts_since(0)
    assert [r.kind for r in recorded] == ["drift", "drift"]


async def test_a_new_episode_after_one_ended_alerts_again(store: Store) -> None:
    async with Receiver() as hook:
        alerter = Alerter(_alerts(hook.url, "json"), store, Claims())
        await alerter.start()
        episodes = Episodes(store, alerter, resolve_after=1)
        for active in (True, False, True):
            await episodes.report(_finding(active))
        await alerter.close(timeout_s=30)
    assert [p.json()["state"] for p in hook.posts] == ["firing", "resolved", "firing"]
    assert len(await store.episodes()) == 2


async def test_a_restarted_replica_resolves_what_was_open(store: Store) -> None:
    async with Receiver() as hook:
        alerter = Alerter(_alerts(hook.url, "json"), store, Claims())
        await alerter.start()
        await Episodes(store, alerter).report(_finding(True))
        restarted = Episodes(store, alerter, resolve_after=1)
        await restarted.report(_finding(False))
        await alerter.close(timeout_s=30)
    assert [p.json()["state"] for p in hook.posts] == ["firing", "resolved"]


async def test_pagerduty_trigger_and_resolve_share_a_dedup_key(store: Store) -> None:
    async with Receiver() as hook:
        alerter = Alerter(_alerts(hook.url, "pagerduty"), store, Claims())
        await alerter.start()
        episodes = Episodes(store, alerter, resolve_after=1)
        await episodes.report(_finding(True))
        await episodes.report(_finding(False))
        await alerter.close(timeout_s=30)
    trigger, resolve = (p.json() for p in hook.posts)
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["routing_key"] == resolve["routing_key"] == "R0UT1NGKEY"
    assert trigger["dedup_key"] == resolve["dedup_key"]
    payload = trigger["payload"]
    assert payload["source"] == "keel" and payload["severity"] == "warning"
    assert payload["component"] == "fraud:3" and payload["custom_details"]["amount"] == 3.5
    assert "payload" not in resolve


async def test_slack_says_resolved(store: Store) -> None:
    async with Receiver() as hook:
        alerter = Alerter(_alerts(hook.url, "slack"), store, Claims())
        await alerter.start()
        episodes = Episodes(store, alerter, resolve_after=1)
        await episodes.report(_finding(True))
        await episodes.report(_finding(False))
        await alerter.close(timeout_s=30)
    texts = [p.json()["blocks"][0]["text"]["text"] for p in hook.posts]
    assert texts[0].startswith("*Input drift*") and texts[1].startswith("*Resolved: Input drift*")


class _DownStore:
    async def episodes(self, since: float = 0.0, open_only: bool = False) -> list[Any]:
        raise ConnectionError("database is down")


async def test_a_store_that_is_down_costs_the_monitor_nothing() -> None:
    alerter = Alerter(AlertsConfig(), None, Claims())
    episodes = Episodes(_DownStore(), alerter)  # type: ignore[arg-type]
    await episodes.report(_finding(True))  # logged, not raised
    assert episodes.open == {}


def test_a_pagerduty_webhook_needs_its_routing_key() -> None:
    with pytest.raises(pydantic.ValidationError, match="routing_key"):
        AlertsConfig.model_validate({"webhooks": [{"url": "https://e.example/v2/enqueue",
                                                   "format": "pagerduty"}]})  # fmt: skip
    hook = _alerts("https://e.example/v2/enqueue", "pagerduty").webhooks[0]
    assert "R0UT1NGKEY" not in repr(hook)

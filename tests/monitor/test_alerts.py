"""Alert delivery against a real receiver on loopback: retries, formats, dedupe, the queue."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from keel.config.finops import AlertsConfig, BudgetConfig, RateLimitConfig
from keel.monitor.alerts import Alert, Alerter, budget_alert, rate_limit_alert
from keel.monitor.metrics import Metrics
from tests.monitor.receiver import Receiver

NOV_1 = datetime(2025, 11, 1, tzinfo=UTC).timestamp()
DEC_1 = datetime(2025, 12, 1, tzinfo=UTC).timestamp()

ALERT = Alert(
    kind="budget", name="alpha-monthly", subject="alpha", threshold=80.0, used=40.0,
    limit=50.0, period_start=NOV_1, resets_at=time.time() + 86400,
    message="team alpha has spent $40.00 of its $50.00 monthly budget 'alpha-monthly' (80%)",
)  # fmt: skip


class Claims:
    """``once`` over a dict: what a shared state backend does for every replica."""

    def __init__(self) -> None:
        self.ttls: dict[str, float] = {}

    async def __call__(self, key: str, ttl_s: float) -> bool:
        if key in self.ttls:
            return False
        self.ttls[key] = ttl_s
        return True


def config(*urls: str, fmt: str = "json", retries: int = 5, **extra: Any) -> AlertsConfig:
    hooks = [{"url": url, "format": fmt} for url in urls]
    return AlertsConfig.model_validate(
        {"webhooks": hooks, "retries": retries, "backoff_s": 0.01, **extra}
    )


async def deliver(cfg: AlertsConfig, *alerts: Alert, **kwargs: Any) -> Alerter:
    """Notify the alerts and close the alerter once every one is delivered or given up."""
    alerter = Alerter(cfg, None, Claims(), **kwargs)
    await alerter.start()
    for alert in alerts:
        alerter.notify(alert)
    await alerter.close(timeout_s=30)
    return alerter


@pytest.mark.parametrize("failure", [500, 503, 429, "drop", "hang"])
async def test_each_transient_failure_is_retried_until_taken(failure: int | str) -> None:
    async with Receiver([failure, failure]) as hook:
        cfg = config(hook.url, timeout_s=0.2)
        alerter = await deliver(cfg, ALERT)
    assert len(hook.posts) == 3
    assert alerter.outcomes == {"delivered": 1}
    assert len({p.body for p in hook.posts}) == 1  # a retry sends the same body


async def test_retries_stop_at_the_configured_count() -> None:
    async with Receiver(then=500) as hook:
        alerter = await deliver(config(hook.url, retries=3), ALERT)
    assert len(hook.posts) == 4  # the first try and 3 retries
    assert alerter.outcomes == {"failed": 1}


async def test_no_retries_means_one_try() -> None:
    async with Receiver(then=502) as hook:
        alerter = await deliver(config(hook.url, retries=0), ALERT)
    assert len(hook.posts) == 1 and alerter.outcomes == {"failed": 1}


@pytest.mark.parametrize("status", [400, 404, 410])
async def test_a_client_error_is_not_retried(status: int) -> None:
    async with Receiver(then=status) as hook:
        alerter = await deliver(config(hook.url), ALERT)
    assert len(hook.posts) == 1
    assert alerter.outcomes == {"failed": 1}


async def test_the_json_body_and_headers() -> None:
    async with Receiver() as hook:
        before = time.time()
        await deliver(config(hook.url), ALERT)
    (post,) = hook.posts
    assert post.path == "/hook"
    assert post.headers["content-type"] == "application/json"
    key = f"budget:alpha-monthly:alpha:80:{int(NOV_1)}"
    assert post.headers["idempotency-key"] == key
    body = post.json()
    sent_at = body.pop("sent_at")
    assert before <= sent_at <= time.time()
    assert datetime.fromisoformat(body.pop("sent_at_iso")).timestamp() == pytest.approx(sent_at)
    assert body == {
        "type": "keel.alert", "version": 1, "kind": "budget", "name": "alpha-monthly",
        "subject": "alpha", "threshold": 80.0, "used": 40.0, "limit": 50.0,
        "period_start": NOV_1, "period_start_iso": "2025-11-01T00:00:00+00:00",
        "resets_at": ALERT.resets_at,
        "resets_at_iso": datetime.fromtimestamp(ALERT.resets_at, UTC).isoformat(),
        "message": ALERT.message, "dedupe_key": key,
    }  # fmt: skip


async def test_the_slack_body() -> None:
    alert = dataclasses.replace(ALERT, subject="<!channel> & co", message="spent <a lot> & more")
    async with Receiver() as hook:
        await deliver(config(hook.url, fmt="slack"), alert)
    body = hook.posts[0].json()
    assert body["text"] == "keel: spent <a lot> & more"
    section, context = body["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"] == "*Budget alert*: spent &lt;a lot&gt; &amp; more"
    assert context["type"] == "context"
    assert context["elements"][0]["text"].startswith("alpha-monthly · &lt;!channel&gt; &amp; co")
    assert "40 of 50" in context["elements"][0]["text"]


async def test_every_webhook_gets_it_each_in_its_format() -> None:
    async with Receiver() as a, Receiver() as b:
        cfg = AlertsConfig.model_validate({"webhooks": [
            {"url": a.url}, {"url": b.url, "format": "slack"},
        ]})  # fmt: skip
        alerter = await deliver(cfg, ALERT)
    assert a.posts[0].json()["type"] == "keel.alert"
    assert b.posts[0].json()["text"] == "keel: " + ALERT.message
    assert alerter.outcomes == {"delivered": 1}


async def test_an_alert_is_sent_once_per_threshold_and_period() -> None:
    claims = Claims()
    later = dataclasses.replace(ALERT, period_start=DEC_1)
    higher = dataclasses.replace(ALERT, threshold=100.0)
    async with Receiver() as hook:
        first, second = (Alerter(config(hook.url), None, claims) for _ in range(2))
        await first.start()
        await second.start()
        for alerter in (first, second, first):  # two replicas; the first twice
            alerter.notify(ALERT)
        first.notify(later)
        second.notify(higher)
        await first.close()
        await second.close()
    keys = sorted(p.headers["idempotency-key"] for p in hook.posts)
    assert keys == sorted({ALERT.dedupe_key(), later.dedupe_key(), higher.dedupe_key()})
    assert first.outcomes + second.outcomes == {"delivered": 3, "deduped": 2}
    # claimed until the period resets, and past it
    assert claims.ttls[ALERT.dedupe_key()] > ALERT.resets_at - time.time()


async def test_an_unreachable_dedupe_backend_still_sends() -> None:
    async def broken(key: str, ttl_s: float) -> bool:
        raise ConnectionError("state backend down")

    async with Receiver() as hook:
        alerter = Alerter(config(hook.url), None, broken)
        await alerter.start()
        alerter.notify(ALERT)
        await alerter.close()
    assert len(hook.posts) == 1 and alerter.outcomes == {"delivered": 1}


async def test_close_drains_the_queue() -> None:
    alerts = [dataclasses.replace(ALERT, subject=f"team-{i}") for i in range(20)]
    async with Receiver([500, "drop", 429]) as hook:
        alerter = await deliver(config(hook.url), *alerts)
    assert sorted(p.json()["subject"] for p in hook.posts[3:]) == sorted(a.subject for a in alerts)
    assert alerter.outcomes == {"delivered": 20}


async def test_close_gives_up_after_its_timeout() -> None:
    async with Receiver(["hang"]) as hook:
        alerter = Alerter(config(hook.url, timeout_s=60), None, Claims())
        await alerter.start()
        alerter.notify(ALERT)
        await alerter.close(timeout_s=0.1)
        assert alerter.outcomes == {"dropped": 1}
    alerter.notify(dataclasses.replace(ALERT, subject="late"))  # closed: dropped, not raised
    assert alerter.outcomes == {"dropped": 2}


async def test_a_full_queue_drops_and_counts() -> None:
    alerts = [dataclasses.replace(ALERT, subject=f"team-{i}") for i in range(5)]
    async with Receiver() as hook:
        alerter = Alerter(config(hook.url), None, Claims(), queue_size=2)
        for alert in alerts:  # before start: nothing leaves the queue
            alerter.notify(alert)
        assert alerter.outcomes == {"dropped": 3}
        alerter.notify(alerts[4])  # dropped before, so not remembered: dropped again
        await alerter.start()
        await alerter.close()
    assert sorted(p.json()["subject"] for p in hook.posts) == ["team-0", "team-1"]
    assert alerter.outcomes == {"dropped": 4, "delivered": 2}


async def test_outcomes_are_exported_as_metrics() -> None:
    metrics = Metrics()
    async with Receiver(then=400) as hook:
        alerter = Alerter(config(hook.url), None, Claims(), metrics=metrics)
        await alerter.start()
        alerter.notify(ALERT)
        alerter.notify(ALERT)
        await alerter.close()
    text = metrics.render().decode()
    assert 'keel_alerts_total{kind="budget",outcome="failed"} 1.0' in text
    assert 'keel_alerts_total{kind="budget",outcome="deduped"} 1.0' in text


def test_the_messages_of_budget_and_rate_limit_alerts() -> None:
    budget = BudgetConfig(name="alpha-monthly", scope="team", match="alpha", limit_usd=50)
    alert = budget_alert(budget, "alpha", 80.0, 40.0, NOV_1, DEC_1)
    assert alert.message == (
        "team alpha has spent $40.00 of its $50.00 monthly budget 'alpha-monthly' (80%)"
    )
    assert (alert.kind, alert.limit, alert.used) == ("budget", 50.0, 40.0)
    limit = RateLimitConfig(name="per-key", scope="key", rpm=300)
    saturated = rate_limit_alert(limit, "key_1", "rpm", 270, 300, NOV_1, NOV_1 + 3600)
    assert saturated.message == (
        "key key_1 used 270 of its 300 requests a minute under rate limit 'per-key' (90% full)"
    )
    assert (saturated.kind, saturated.threshold) == ("rate_limit", 90.0)


async def test_a_repeat_is_deduped_before_it_takes_a_place_in_the_queue() -> None:
    alerter = Alerter(config(), None, Claims(), queue_size=1)
    alerter.notify(ALERT)
    alerter.notify(ALERT)  # the hot path may see a threshold crossed many times
    assert alerter.outcomes == {"deduped": 1}
    await alerter.start()
    await alerter.close()
    assert alerter.outcomes == {"deduped": 1, "recorded": 1}

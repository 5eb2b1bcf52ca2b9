"""Every alert is recorded once after its delivery, on both store backends; a store that
refuses the record is logged and counted, never raised."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from keel.config.finops import AlertsConfig
from keel.monitor.alerts import Alerter
from keel.store.base import Store
from keel.store.sql import SQLStore
from tests.monitor.receiver import Receiver
from tests.monitor.test_alerts import ALERT, Claims


async def test_a_partly_delivered_alert_is_recorded_with_its_last_error(store: Store) -> None:
    async with Receiver() as good, Receiver(then=500) as bad:
        cfg = AlertsConfig.model_validate({
            "webhooks": [{"url": good.url}, {"url": bad.url, "format": "slack"}],
            "retries": 2, "backoff_s": 0.01,
        })  # fmt: skip
        alerter = Alerter(cfg, store, Claims())
        await alerter.start()
        alerter.notify(ALERT)
        await alerter.close()
    (record,) = await store.alerts_since(0.0)
    assert (record.status, record.delivered, record.failed) == ("partial", 1, 1)
    assert record.attempts == 1 + 3
    port = bad.url.split(":")[2].split("/")[0]
    assert record.last_error is not None
    assert record.last_error.startswith(f"webhook 2 (127.0.0.1:{port}): HTTP 500")
    assert "/hook" not in record.last_error  # a webhook's path may be its secret
    fields = ("kind", "name", "subject", "threshold", "used", "limit", "period_start", "message")
    assert {f: getattr(record, f) for f in fields} == {f: getattr(ALERT, f) for f in fields}
    assert record.resets_at == ALERT.resets_at
    assert alerter.outcomes == {"failed": 1}


async def test_without_webhooks_an_alert_is_still_recorded(store: Store) -> None:
    alerter = Alerter(AlertsConfig(), store, Claims())
    await alerter.start()
    alerter.notify(ALERT)
    alerter.notify(dataclasses.replace(ALERT, threshold=100.0))
    await alerter.close()
    records = await store.alerts_since(0.0)
    # Four workers deliver at once: which of the two is recorded first is not fixed.
    assert sorted((r.threshold, r.status, r.attempts) for r in records) == [
        (80.0, "no_webhooks", 0),
        (100.0, "no_webhooks", 0),
    ]
    assert alerter.outcomes == {"recorded": 2}


async def test_a_store_that_refuses_the_record_is_counted_not_raised(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(store, SQLStore)
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE alerts"))
    async with Receiver() as hook:
        cfg = AlertsConfig.model_validate({"webhooks": [{"url": hook.url}]})
        alerter = Alerter(cfg, store, Claims())
        await alerter.start()
        alerter.notify(ALERT)
        await alerter.close()
    assert len(hook.posts) == 1
    assert alerter.outcomes == {"delivered": 1, "store_errors": 1}
    assert "not recorded in the store" in caplog.text

"""Budget thresholds and rate-limit saturation reach a real webhook receiver from a running
keel, once each, and are recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import orjson

from tests.e2e.procs import keel_cli, run_keel
from tests.e2e.test_budgets import KEY, budget_config
from tests.monitor.receiver import Receiver


async def test_thresholds_and_saturation_alert_once_and_are_recorded(tmp_path: Path) -> None:
    async with Receiver() as hook:
        budget = {"name": "team-month", "scope": "team", "limit_usd": 0.05, "alert_at": [50, 100]}
        limit = {"name": "key-rpm", "scope": "key", "rpm": 6, "alert_at": 75}
        config = budget_config(
            f"sqlite:///{tmp_path / 'keel.db'}", "memory://", budgets=[budget],
            rate_limits=[limit], alerts={"webhooks": [{"url": hook.url}], "backoff_s": 0.05},
        )  # fmt: skip
        with run_keel(tmp_path, config) as (url, _, path):
            client = openai.AsyncOpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)
            statuses = []
            for i in range(6):
                try:
                    await client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": f"{i}"}], max_tokens=10
                    )
                    statuses.append(200)
                except openai.RateLimitError as exc:
                    statuses.append(exc.status_code)
                    code = exc.response.json()["error"]["code"]
                    assert code in ("budget_exceeded", "rate_limit_exceeded")
            await client.close()
            for _ in range(100):  # delivery is in the background
                if len(hook.posts) >= 3:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.3)  # and nothing more arrives
            recorded = orjson.loads(
                keel_cli("report", "alerts", "--format", "json", "--config", str(path)).stdout
            )
    # Five calls of $0.01 spend the budget; the sixth is refused by it. The fifth filled the
    # rpm window to 5 of 6 (83%, past its 75%).
    assert statuses == [200] * 5 + [429]
    sent = sorted((p.json()["kind"], p.json()["threshold"]) for p in hook.posts)
    assert sent == [("budget", 50), ("budget", 100), ("rate_limit", 75)], sent
    full = next(p.json() for p in hook.posts if p.json()["threshold"] == 100)
    assert full["name"] == "team-month" and full["subject"] == "t"
    assert "$0.05 of its $0.05 monthly budget" in full["message"]
    assert len(recorded) == 3

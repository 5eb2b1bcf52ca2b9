"""Redis killed (SIGKILL) in the middle of a load and started again: each policy does as
configured, keel stays up, no usage record is lost, and the budget comes back exact."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.procs import run_keel
from tests.e2e.redis_proc import run_redis

HARD_KEY, OPEN_KEY = "sk-outage-hard", "sk-outage-open"
LIMIT_USD = 1000.0


def outage_config(tmp: Path, state_url: str) -> dict[str, Any]:
    settings = {"ttft_ms": 2, "tokens_per_s": 5000}
    return {
        "server": {"access_log": False},
        "store": {"url": f"sqlite:///{tmp / 'keel.db'}"},
        "state": {"url": state_url, "timeout_s": 0.2},
        "regions": {"local": {}},
        "deployments": [{"name": "s", "provider": "sim", "model": "sim", "region": "local",
                         "sim": settings, "price": {"input_per_mtok": 1, "output_per_mtok": 4}}],
        "models": {"m": ["s"]},
        "teams": {"hard": {"api_keys": [HARD_KEY]}, "open": {"api_keys": [OPEN_KEY]}},
        "budgets": [
            {"name": "hard-team", "scope": "team", "match": "hard", "limit_usd": LIMIT_USD},
            {"name": "open-team", "scope": "team", "match": "open", "limit_usd": LIMIT_USD,
             "mode": "soft"},
        ],
        "rate_limits": [{"name": "open-rpm", "scope": "team", "match": "open", "rpm": 1_000_000}],
    }  # fmt: skip


async def load(
    url: str, key: str, stop: asyncio.Event, seen: list[tuple[float, httpx.Response]]
) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while not stop.is_set():
            response = await http.post("/v1/chat/completions", json=body, headers=headers)
            seen.append((time.monotonic(), response))


async def test_redis_killed_mid_load(tmp_path: Path) -> None:
    hard: list[tuple[float, httpx.Response]] = []
    opened: list[tuple[float, httpx.Response]] = []
    (tmp_path / "redis").mkdir()
    with (
        run_redis(tmp_path / "redis") as redis,
        run_keel(tmp_path, outage_config(tmp_path, redis.url)) as (url, proc, _),
    ):
        stop = asyncio.Event()
        workers = [load(url, HARD_KEY, stop, hard) for _ in range(4)]
        workers += [load(url, OPEN_KEY, stop, opened) for _ in range(4)]

        async def outage() -> tuple[float, float]:
            await asyncio.sleep(2.0)
            redis.kill()
            killed = time.monotonic()
            await asyncio.sleep(2.0)
            redis.restart()
            back = time.monotonic()
            await asyncio.sleep(3.0)
            stop.set()
            return killed, back

        *_, (killed, back) = await asyncio.gather(*workers, outage())
        assert proc.poll() is None, "keel must stay up through the outage"
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            metrics = (await http.get("/metrics")).text
            await asyncio.sleep(1.5)  # settles missed during the outage are retried
            final = await http.post(
                "/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "hi"}],
                      "max_tokens": 8},
                headers={"authorization": f"Bearer {HARD_KEY}"},
            )  # fmt: skip
    # The hard budget fails closed: 503 while Redis is down, 200 before and after.
    assert {r.status_code for _, r in hard} <= {200, 503}
    down = [r for _, r in hard if r.status_code == 503]
    assert down, "requests under the hard budget must be refused while Redis is down"
    for r in down:
        error = r.json()["error"]
        assert error["code"] == "state_unavailable" and "fail_closed" in error["message"]
    assert any(r.status_code == 200 for t, r in hard if t < killed)
    assert any(r.status_code == 200 for t, r in hard if t > back + 1.5)
    # The soft budget and the rate limit fail open: every request answered.
    assert {r.status_code for _, r in opened} == {200}
    assert 'keel_state_unchecked_total{outcome="fail_closed"}' in metrics
    assert 'keel_state_unchecked_total{outcome="fail_open"}' in metrics
    # No usage record lost: every answer the clients got, 503s included, has its record.
    with sqlite3.connect(tmp_path / "keel.db") as conn:
        rows = dict(conn.execute("SELECT request_id, status FROM usage").fetchall())
        spent = conn.execute(
            "SELECT SUM(cost_usd) FROM usage WHERE team = 'hard' AND request_id != ?",
            (final.headers["x-request-id"],),
        ).fetchone()[0]
    for _, r in hard + opened:
        assert rows[r.headers["x-request-id"]] == r.status_code
    # The budget's counter, lost with Redis, started again from the records: what it says is
    # left is the limit less everything recorded, less the final call's own reservation.
    assert final.status_code == 200
    left = float(final.headers["x-keel-budget-remaining-usd"])
    prompt_bytes = len(b'[{"role":"user","content":"hi"}]') + 16
    worst = (prompt_bytes * 1 + 8 * 4) / 1e6
    assert abs(left - (LIMIT_USD - spent - worst)) < 2e-6

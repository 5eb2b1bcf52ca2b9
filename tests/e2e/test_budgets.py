"""Hard budgets and rate limits under concurrent load, through real keel processes and the
real openai SDK: one process on memory://, and three processes sharing one real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import openai
import pytest

from tests.e2e.procs import run_keel, sim_config
from tests.state.conftest import REDIS_URL, redis_or_skip
from tests.store.conftest import fresh_pg_database

KEY = "sk-budget-test"
WORST = 0.01  # max_tokens 10 at $1000 per million output tokens; prompts cost nothing


def budget_config(store_url: str, state_url: str, **extra: Any) -> dict[str, Any]:
    """One slow sim deployment (10 tokens take ~0.3 s, so 200 requests overlap) that always
    writes exactly max_tokens tokens: a call's real cost is its worst case."""
    config = sim_config(KEY, ttft_ms=50, tokens_per_s=40, output_tokens=48, capacity=256,
                        max_queue=1024)  # fmt: skip
    config["deployments"][0]["price"] = {"input_per_mtok": 0, "output_per_mtok": 1000}
    config["store"] = {"url": store_url}
    config["state"] = {"url": state_url, "prefix": f"test-{secrets.token_hex(6)}"}
    return {**config, **extra}


async def fire(urls: list[str], n: int, **body: Any) -> list[httpx.Response]:
    """``n`` chat requests at once, spread over the gateways, each answered or refused."""
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        clients = [
            openai.AsyncOpenAI(base_url=u + "/v1", api_key=KEY, max_retries=0, http_client=http)
            for u in urls
        ]

        async def one(i: int) -> httpx.Response:
            raw = await clients[i % len(clients)].chat.completions.with_raw_response.create(
                model="m", messages=[{"role": "user", "content": f"request {i}"}], **body
            )
            return raw.http_response

        results = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    responses: list[httpx.Response] = []
    for result in results:
        if isinstance(result, openai.APIStatusError):
            responses.append(result.response)
        else:
            assert isinstance(result, httpx.Response), f"request failed: {result!r}"
            responses.append(result)
    return responses


def check_budget_held(responses: list[httpx.Response], spent: list[float]) -> None:
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(refused) == 200, {r.status_code for r in responses}
    assert len(ok) <= 50
    assert len(ok) >= 45, "the budget fits 50 calls; nearly all of them should be admitted"
    assert sum(spent) <= 0.50 + 1e-9  # settled spend never passes the budget
    assert sum(spent) == pytest.approx(len(ok) * WORST)
    for r in refused:
        body = r.json()["error"]
        assert body["code"] == "budget_exceeded" and body["type"] == "insufficient_quota"
        assert "'team-month'" in body["message"] and "resets at" in body["message"]
        assert int(r.headers["retry-after"]) > 0
        assert r.headers["x-should-retry"] == "false"
    assert all("x-keel-budget-remaining-usd" in r.headers for r in ok)


BUDGET = {"name": "team-month", "scope": "team", "limit_usd": 0.50, "period": "month"}


def test_200_concurrent_requests_against_a_budget_of_50_on_memory(tmp_path: Path) -> None:
    config = budget_config(f"sqlite:///{tmp_path / 'keel.db'}", "memory://", budgets=[BUDGET])
    with run_keel(tmp_path, config) as (url, _, path):
        responses = asyncio.run(fire([url], 200, max_tokens=10))
    spent = [r["cost_usd"] for r in _sqlite_rows(path.parent / "keel.db")]
    check_budget_held(responses, spent)


async def on_three_gateways(
    tmp_path: Path, n: int, max_tokens: int, **policies: Any
) -> tuple[list[httpx.Response], list[float]]:
    """``n`` requests spread over three keel processes sharing one Redis and one PostgreSQL:
    the answers, and the cost of every usage record."""
    await redis_or_skip()
    async with fresh_pg_database() as store_url:
        config = budget_config(store_url, REDIS_URL, **policies)
        with contextlib.ExitStack() as stack:
            urls = [_start(stack, tmp_path / str(i), config) for i in range(3)]
            responses = await fire(urls, n, max_tokens=max_tokens)
        return responses, await _pg_costs(store_url)


async def test_200_concurrent_requests_on_three_gateways_sharing_redis(tmp_path: Path) -> None:
    responses, spent = await on_three_gateways(tmp_path, 200, 10, budgets=[BUDGET])
    check_budget_held(responses, spent)


def test_a_request_without_max_tokens_reserves_and_sends_the_default_cap(tmp_path: Path) -> None:
    budget = {**BUDGET, "limit_usd": 1.0, "default_max_tokens": 10}
    config = budget_config(f"sqlite:///{tmp_path / 'keel.db'}", "memory://", budgets=[budget])
    with (
        run_keel(tmp_path, config) as (url, _, _),
        openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client,
    ):
        answer = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "no cap given"}]
        )
    assert answer.usage is not None and answer.usage.completion_tokens == 10
    assert answer.choices[0].finish_reason == "length"


def test_a_request_dearer_than_the_whole_budget_is_told_to_ask_for_less(tmp_path: Path) -> None:
    config = budget_config(f"sqlite:///{tmp_path / 'keel.db'}", "memory://", budgets=[BUDGET])
    with (
        run_keel(tmp_path, config) as (url, _, _),
        openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client,
        pytest.raises(openai.RateLimitError) as raised,
    ):
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], max_tokens=1000
        )
    error = raised.value.response.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert "more than the whole" in error["message"] and "lower max_tokens" in error["message"]


LIMIT = {"name": "key-rpm", "scope": "key", "rpm": 20, "tpm": 100_000, "alert_at": None}


def check_limit_held(responses: list[httpx.Response], recorded: int) -> None:
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(ok) == 20 and len(refused) == 40  # all 60 sent within one window
    assert recorded == 60  # none lost: every request, admitted or refused, has its record
    for r in refused:
        assert r.json()["error"]["code"] == "rate_limit_exceeded"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert int(r.headers["retry-after-ms"]) <= 60_000
        assert r.headers["x-ratelimit-limit-requests"] == "20"
        assert r.headers["x-ratelimit-remaining-requests"] == "0"
    remaining = sorted(int(r.headers["x-ratelimit-remaining-requests"]) for r in ok)
    assert remaining == list(range(20))  # each admitted request saw its own place in line
    assert all(r.headers["x-ratelimit-limit-tokens"] == "100000" for r in ok)


def test_rpm_limit_under_concurrent_load_on_memory(tmp_path: Path) -> None:
    config = budget_config(f"sqlite:///{tmp_path / 'keel.db'}", "memory://", rate_limits=[LIMIT])
    with run_keel(tmp_path, config) as (url, _, path):
        responses = asyncio.run(fire([url], 60, max_tokens=5))
    check_limit_held(responses, len(_sqlite_rows(path.parent / "keel.db")))


async def test_rpm_limit_on_three_gateways_sharing_redis(tmp_path: Path) -> None:
    responses, recorded = await on_three_gateways(tmp_path, 60, 5, rate_limits=[LIMIT])
    check_limit_held(responses, len(recorded))


def _start(stack: contextlib.ExitStack, tmp: Path, config: dict[str, Any]) -> str:
    tmp.mkdir()
    url: str = stack.enter_context(run_keel(tmp, config))[0]
    return url


def _sqlite_rows(db: Path) -> list[dict[str, Any]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM usage")]


async def _pg_costs(url: str) -> list[float]:
    conn = await asyncpg.connect(url)
    try:
        return [r["cost_usd"] for r in await conn.fetch("SELECT cost_usd FROM usage")]
    finally:
        await conn.close()


def test_a_stream_settles_its_reservation_when_it_ends(tmp_path: Path) -> None:
    budget = {**BUDGET, "limit_usd": 1.0}
    config = budget_config(f"sqlite:///{tmp_path / 'keel.db'}", "memory://", budgets=[budget])
    with (
        run_keel(tmp_path, config) as (url, _, _),
        openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client,
    ):
        messages = [{"role": "user", "content": "stream"}]
        chunks = list(client.chat.completions.create(
            model="m", messages=messages, max_tokens=7, stream=True  # type: ignore[arg-type]
        ))  # fmt: skip
        assert chunks[-1].choices[0].finish_reason == "length"
        after = client.chat.completions.with_raw_response.create(
            model="m",
            messages=messages,
            max_tokens=10,  # type: ignore[arg-type]
        )
    # The stream's 7 tokens ($0.007) are spent; this call's $0.01 is reserved while it runs.
    assert after.headers["x-keel-budget-remaining-usd"] == f"{1.0 - 0.007 - 0.01:.6f}"

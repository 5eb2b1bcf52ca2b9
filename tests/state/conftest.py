"""Every state test runs on both backends: ``memory://`` and a real Redis."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from keel.config.finops import StateConfig
from keel.state import StateBackend, open_state

REDIS_URL = os.environ.get("KEEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_or_skip() -> None:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        reason = f"Redis unreachable at {REDIS_URL}: {exc!r}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the Redis backend must be tested)")
        pytest.skip(reason)
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    """Keys of this test alone, so tests share one Redis without meeting."""
    return f"test-{secrets.token_hex(6)}"


@pytest.fixture(params=["memory", "redis"])
async def state(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[StateBackend]:
    if request.param == "memory":
        opened = open_state(StateConfig(url="memory://"))
    else:
        await redis_or_skip()
        opened = open_state(StateConfig(url=REDIS_URL, timeout_s=2.0))
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()
        if request.param == "redis":
            client = Redis.from_url(REDIS_URL)
            keys = [k async for k in client.scan_iter(f"{prefix}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()

"""Store backends under test: a fresh SQLite file and a fresh PostgreSQL database per test.

PostgreSQL is the local server (trust auth). Each test gets its own ``keel_test_<random>``
database, dropped afterwards. Without a reachable server the PostgreSQL cases are skipped,
unless ``CI`` is set: there a missing backend is a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from keel.store import opened_store
from keel.store.base import Store

PG_ADMIN_URL = os.environ.get("KEEL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc!r}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the PostgreSQL backend must be tested)")
        pytest.skip(reason)


@contextlib.asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """The URL of a PostgreSQL database made for this test alone, dropped afterwards."""
    name = f"keel_test_{secrets.token_hex(6)}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same tests run against both backends, chosen by URL scheme as in keel.yaml."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'x.db'}"
        return
    async with fresh_pg_database() as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    async with opened_store(store_url) as opened:
        yield opened


def make_row(**fields: Any) -> dict[str, Any]:
    """A complete usage row (every column of ``keel.store.tables.usage``), fields overridden."""
    row: dict[str, Any] = {
        "request_id": "req-" + secrets.token_hex(6),
        "ts": time.time(),
        "team": "alpha",
        "key_id": "key_test",
        "model": "chat",
        "endpoint": "chat.completions",
        "stream": False,
        "deployment": "sim-eu",
        "region": "eu",
        "status": 200,
        "error": None,
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "tokens_estimated": False,
        "cost_usd": 0.001,
        "latency_ms": 100.0,
        "upstream_ms": 90.0,
        "ttft_ms": 30.0,
        "overhead_ms": 1.5,
        "attempts": '[{"deployment": "sim-eu", "error": null, "ms": 90.0}]',
        "kind": "call",
        "project": None,
        "cached_tokens": 0,
    }
    unknown = set(fields) - set(row)
    assert not unknown, f"not usage columns: {unknown}"
    return {**row, **fields}

"""On PostgreSQL, over-long values of every recorded field sent beside valid load cost no valid
request its answer or its record: each is refused (or bounded) at the edge, alone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from tests.e2e.procs import keel_cli, run_keel
from tests.e2e.test_postgres_store import KEY, config
from tests.store.conftest import fresh_pg_database

ADMIN = "sk-pg-admin"
LONG = "x" * 400
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def _bad_calls(client: httpx.AsyncClient) -> list[Any]:
    auth = {"authorization": f"Bearer {KEY}"}
    admin = {"authorization": f"Bearer {ADMIN}"}
    chat = "/v1/chat/completions"
    return [
        client.post(chat, json={**BODY, "model": LONG}, headers=auth),
        client.post(chat, json={**BODY, "model": LONG}),  # unauthenticated
        client.post(chat, json={**BODY, "model": LONG}, headers={"authorization": "Bearer no"}),
        client.post(chat, json=BODY, headers={**auth, "x-request-id": LONG}),
        client.post(chat, json={**BODY, "user": LONG}, headers=auth),
        client.post("/admin/keys", json={"team": "t", "name": LONG}, headers=admin),
        client.post("/admin/keys", json={"team": "t", "project": LONG}, headers=admin),
    ]


async def test_over_long_values_beside_valid_load_lose_no_record(tmp_path: Path) -> None:
    async with fresh_pg_database() as url:
        cfg = config(url)
        cfg["auth"] = {"admin_keys": [ADMIN]}
        with run_keel(tmp_path, cfg) as (base, _, config_path):
            async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                good = [client.post("/v1/chat/completions", json=BODY,
                                    headers={"authorization": f"Bearer {KEY}"})
                        for _ in range(60)]  # fmt: skip
                bad = [c for _ in range(4) for c in _bad_calls(client)]
                answers = await asyncio.gather(*good, *bad)
                valid, refused = answers[: len(good)], answers[len(good) :]
                assert [r.status_code for r in valid] == [200] * len(valid)
                assert all(r.status_code < 500 for r in refused), [
                    (r.status_code, r.text[:200]) for r in refused if r.status_code >= 500
                ]
                after = await client.post("/v1/chat/completions", json=BODY,
                                          headers={"authorization": f"Bearer {KEY}"})  # fmt: skip
                assert after.status_code == 200
        conn = await asyncpg.connect(url)
        try:
            recorded = {r["request_id"] for r in await conn.fetch("SELECT request_id FROM usage")}
        finally:
            await conn.close()
        ids = {r.headers["x-request-id"] for r in [*valid, after]}
        assert ids <= recorded, f"{len(ids - recorded)} valid answers have no record"
        verified = keel_cli("audit", "verify", "--config", str(config_path))
        assert "keel audit: ok" in verified.stdout, verified.stdout + verified.stderr

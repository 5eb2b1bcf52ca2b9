"""On SQLite, creating and revoking keys through the admin API while chat load commits usage
records answers no 500 ("database is locked")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.e2e.procs import run_keel, sim_config

KEY, ADMIN = "sk-load", "sk-load-admin"
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def _admin_churn(client: httpx.AsyncClient) -> list[int]:
    admin = {"authorization": f"Bearer {ADMIN}"}
    statuses = []
    for i in range(15):
        made = await client.post("/admin/keys", json={"team": "t", "name": f"k{i}"}, headers=admin)
        statuses.append(made.status_code)
        if made.status_code == 201:
            gone = await client.delete(f"/admin/keys/{made.json()['id']}", headers=admin)
            statuses.append(gone.status_code)
    return statuses


async def test_admin_key_writes_under_chat_load_answer_no_500(tmp_path: Path) -> None:
    config = sim_config(KEY)
    config["auth"] = {"admin_keys": [ADMIN]}
    with run_keel(tmp_path, config) as (base, _, _):
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            chats = [client.post("/v1/chat/completions", json=BODY,
                                 headers={"authorization": f"Bearer {KEY}"})
                     for _ in range(300)]  # fmt: skip
            churn, *answers = await asyncio.gather(_admin_churn(client), *chats)
    assert all(s in (200, 201, 204) for s in churn), churn
    assert [a.status_code for a in answers] == [200] * len(answers)

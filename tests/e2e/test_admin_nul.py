"""A NUL character anywhere in an admin request is a 400 saying so, not a 500 from the store
(PostgreSQL refuses NUL in text), and the admin API goes on working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.procs import run_keel, sim_config
from tests.store.conftest import fresh_pg_database

KEY = "sk-team-nul-0123456789abcdef0123"
ADMIN = "sk-admin-nul-0123456789abcdef012"

# (method, path, params, JSON body) of admin requests carrying a NUL.
NUL_REQUESTS: list[tuple[str, str, dict[str, str] | None, Any]] = [
    ("POST", "/admin/keys", None, {"team": "t", "name": "a\u0000b"}),
    ("POST", "/admin/keys", None, {"team": "t", "models": ["m\u0000"]}),
    ("GET", "/admin/keys", {"team": "t\u0000"}, None),
    ("GET", "/admin/keys", {"project": "p\u0000"}, None),
    ("DELETE", "/admin/keys/key_%00", None, None),
]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_a_nul_in_an_admin_request_is_a_400(tmp_path: Path, store: str) -> None:
    config = sim_config(KEY)
    config["auth"] = {"admin_keys": [ADMIN]}
    async with fresh_pg_database() as pg_url:
        if store == "postgresql":
            config["store"] = {"url": pg_url}
        with run_keel(tmp_path, config) as (url, _, _):
            headers = {"authorization": f"Bearer {ADMIN}"}
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
                for method, path, params, body in NUL_REQUESTS:
                    answer = await http.request(method, path, params=params, json=body)
                    assert answer.status_code == 400, (method, path, answer.text)
                    error = answer.json()["error"]
                    assert error["code"] == "invalid_characters", error
                    assert "NUL" in error["message"]
                made = await http.post("/admin/keys", json={"team": "t", "name": "after"})
                assert made.status_code == 201, made.text

"""A NUL character in an admin request or a feedback is a 400 saying so, not a 5xx from the
store (PostgreSQL refuses NUL in text), and both go on working."""

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


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_a_nul_in_a_feedback_is_a_400(tmp_path: Path, store: str) -> None:
    config = sim_config(KEY)
    async with fresh_pg_database() as pg_url:
        if store == "postgresql":
            config["store"] = {"url": pg_url}
        with run_keel(tmp_path, config) as (url, _, _):
            headers = {"authorization": f"Bearer {KEY}"}
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
                for body in (
                    {"request_id": "r\u0000", "outcome": "ok"},
                    {"request_id": "r", "outcome": "o\u0000k"},
                ):
                    answer = await http.post("/v1/feedback", json=body)
                    assert answer.status_code == 400, answer.text
                    error = answer.json()["error"]
                    assert error["code"] == "invalid_characters", error
                    assert "NUL" in error["message"]
                chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
                answered = await http.post("/v1/chat/completions", json=chat)
                made = answered.headers["x-request-id"]
                fine = await http.post("/v1/feedback", json={"request_id": made, "outcome": "ok"})
                assert fine.status_code == 200, fine.text

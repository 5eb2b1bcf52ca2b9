"""Teams cannot touch each other's feedback or request ids, through a running keel on SQLite
and on PostgreSQL: feedback names a call of the caller's team (404 otherwise, one message
whether the id is another team's or nobody's), ``keel report roi`` keeps teams apart, and an
``x-request-id`` already taken is replaced by a fresh one that the answer names."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from keel.store import opened_store
from keel.store.sql import SQLStore
from tests.e2e.procs import keel_cli, run_keel
from tests.store.conftest import PG_ADMIN_URL, _admin

ALPHA, BETA = "sk-test-alpha", "sk-test-beta"
USE_CASES = {"support": {"value_per_outcome_usd": {"resolved": 4.0, "escalated": 1.0}},
             "billing": {"value_per_outcome_usd": {"resolved": 9.0, "escalated": 2.0}}}  # fmt: skip


@dataclass
class Gateway:
    url: str
    config: Path
    store_url: str
    alpha: str  # alpha's key tagged with the project support
    beta: str  # beta's key tagged with billing


def _pg_database() -> str:
    name = f"keel_test_{secrets.token_hex(6)}"

    async def create() -> None:
        admin = await _admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    asyncio.run(create())
    return name


def _drop_pg_database(name: str) -> None:
    async def drop() -> None:
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sim_url: str
) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp(f"tenants-{request.param}")
    pg = _pg_database() if request.param == "postgresql" else None
    store_url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{pg}" if pg else f"sqlite:///{tmp / 'keel.db'}"
    config = {
        "regions": {"eu": {}},
        "deployments": [{"name": "sim", "provider": "openai", "base_url": sim_url,
                         "model": "sim-remote", "region": "eu"}],
        "models": {"chat": ["sim"]},
        "teams": {"alpha": {"api_keys": [ALPHA]}, "beta": {"api_keys": [BETA]}},
        "use_cases": USE_CASES,
        "store": {"url": store_url},
    }  # fmt: skip
    try:
        with run_keel(tmp, config) as (url, _, path):
            keys = [
                keel_cli("keys", "create", "--team", team, "--project", project,
                         "--config", str(path)).stdout.strip()
                for team, project in (("alpha", "support"), ("beta", "billing"))
            ]  # fmt: skip
            yield Gateway(url, path, store_url, *keys)
    finally:
        if pg is not None:
            _drop_pg_database(pg)


def ask(gw: Gateway, key: str, request_id: str | None = None) -> str:
    headers = {"authorization": f"Bearer {key}"}
    if request_id is not None:
        headers["x-request-id"] = request_id
    body = {"model": "chat", "messages": [{"role": "user", "content": "my printer is on fire"}]}
    answer = httpx.post(gw.url + "/v1/chat/completions", json=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.headers["x-request-id"]


def feedback(gw: Gateway, key: str, request_id: str, outcome: str) -> httpx.Response:
    body = {"request_id": request_id, "outcome": outcome}
    headers = {"authorization": f"Bearer {key}"}
    return httpx.post(gw.url + "/v1/feedback", json=body, headers=headers, timeout=30)


def query(gw: Gateway, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        async with opened_store(gw.store_url) as store:
            assert isinstance(store, SQLStore)
            async with store.engine.connect() as conn:
                return [tuple(r) for r in await conn.execute(text(sql), params)]

    return asyncio.run(run())


def calls_under(gw: Gateway, request_id: str) -> list[tuple[Any, ...]]:
    return query(
        gw, "SELECT team, project FROM usage WHERE request_id = :id AND kind = 'call' "
        "ORDER BY seq", id=request_id,
    )  # fmt: skip


def fresh_id() -> str:
    return f"client-{secrets.token_hex(6)}"


def test_feedback_names_a_call_of_the_callers_team(gateway: Gateway) -> None:
    alphas, made_up = ask(gateway, gateway.alpha), "never-made-" + secrets.token_hex(6)
    theirs = feedback(gateway, gateway.beta, alphas, "resolved")
    nobodys = feedback(gateway, gateway.beta, made_up, "resolved")
    assert theirs.status_code == 404 and nobodys.status_code == 404, (theirs.text, nobodys.text)
    # One answer whether the id is another team's or nobody's: nothing to learn from it.
    theirs_error, nobodys_error = theirs.json()["error"], nobodys.json()["error"]
    assert theirs_error["code"] == nobodys_error["code"] == "request_not_found"
    assert theirs_error["param"] == "request_id"
    said = theirs_error["message"].replace(alphas, "<id>")
    assert said == nobodys_error["message"].replace(made_up, "<id>")
    assert query(gateway, "SELECT team FROM feedback WHERE request_id = :id", id=alphas) == []
    mine = feedback(gateway, gateway.alpha, alphas, "resolved")
    assert mine.status_code == 200, mine.text


def test_roi_keeps_each_teams_feedback_apart(gateway: Gateway) -> None:
    alphas, betas = ask(gateway, gateway.alpha), ask(gateway, gateway.beta)
    assert feedback(gateway, gateway.alpha, alphas, "resolved").status_code == 200
    assert feedback(gateway, gateway.beta, betas, "escalated").status_code == 200
    # beta's attempt to overwrite alpha's outcome (later, so it would be "the latest")
    assert feedback(gateway, gateway.beta, alphas, "escalated").status_code == 404
    month = time.strftime("%Y-%m", time.gmtime())
    report = keel_cli("report", "roi", "--period", month, "--format", "json",
                      "--config", str(gateway.config))  # fmt: skip
    rows = {r["use_case"]: r for r in orjson.loads(report.stdout)}
    # Other tests of this module add feedback too: compare with what the store holds.
    given = dict(query(
        gateway, "SELECT project, count(*) FROM feedback GROUP BY project"
    ))  # fmt: skip
    assert sum(rows["support"]["outcomes"].values()) == given["support"]
    assert sum(rows["billing"]["outcomes"].values()) == given["billing"]
    assert rows["support"]["outcomes"].get("escalated", 0) == 0  # beta never reached support


def test_a_request_id_another_team_took_is_replaced(gateway: Gateway) -> None:
    shared = fresh_id()
    assert ask(gateway, gateway.alpha, shared) == shared  # free: kept as the client sent it
    betas = ask(gateway, gateway.beta, shared)
    assert betas != shared and betas
    assert calls_under(gateway, shared) == [("alpha", "support")]
    assert calls_under(gateway, betas) == [("beta", "billing")]
    # Each team's feedback reaches its own call, by the id its answer named.
    assert feedback(gateway, gateway.beta, betas, "resolved").status_code == 200
    assert feedback(gateway, gateway.beta, shared, "resolved").status_code == 404


def test_a_team_reusing_its_own_request_id_gets_a_fresh_one(gateway: Gateway) -> None:
    mine = fresh_id()
    assert ask(gateway, gateway.alpha, mine) == mine
    again = ask(gateway, gateway.alpha, mine)
    assert again != mine
    assert calls_under(gateway, mine) == [("alpha", "support")]
    assert calls_under(gateway, again) == [("alpha", "support")]


def test_a_stream_whose_request_id_was_taken_names_its_fresh_one(gateway: Gateway) -> None:
    shared = fresh_id()
    assert ask(gateway, gateway.alpha, shared) == shared
    headers = {"authorization": f"Bearer {gateway.beta}", "x-request-id": shared}
    body = {"model": "chat", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body,
                      headers=headers, timeout=30) as answer:  # fmt: skip
        assert answer.status_code == 200
        lines = list(answer.iter_lines())
    assert lines[-2:] == ["data: [DONE]", ""] or lines[-1] == "data: [DONE]"
    notes = [line for line in lines if line.startswith(": keel: x-request-id")]
    assert len(notes) == 1, lines
    betas = notes[0].rsplit(" ", 1)[1]
    assert betas != shared
    assert calls_under(gateway, shared) == [("alpha", "support")]
    assert calls_under(gateway, betas) == [("beta", "billing")]


def test_concurrent_requests_sharing_one_id_each_get_their_own(gateway: Gateway) -> None:
    shared = fresh_id()
    keys = [gateway.alpha, gateway.beta] * 12
    with ThreadPoolExecutor(len(keys)) as pool:
        answered = list(pool.map(lambda key: ask(gateway, key, shared), keys))
    assert len(set(answered)) == len(keys)  # one kept the id sent, every other a fresh one
    assert answered.count(shared) == 1
    teams = {gateway.alpha: ("alpha", "support"), gateway.beta: ("beta", "billing")}
    for key, request_id in zip(keys, answered, strict=True):
        assert calls_under(gateway, request_id) == [teams[key]]

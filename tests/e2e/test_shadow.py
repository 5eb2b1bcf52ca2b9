"""Shadow traffic on a running ``keel up``: copies go to the fault upstream, are recorded as
usage rows of kind ``shadow``, and a slow shadow never slows the client's answers."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.e2e.conftest import plan, seen
from tests.e2e.procs import keel_cli, run_keel

KEY = "sk-shadow"


def config(faults: str) -> dict[str, Any]:
    upstream = {"provider": "openai", "base_url": faults + "/v1", "model": "f", "region": "r",
                "retries": 0}  # fmt: skip
    return {
        "server": {"access_log": False},
        "regions": {"r": {}},
        "deployments": [
            {"name": "v1", "provider": "sim", "model": "sim", "region": "r",
             "sim": {"ttft_ms": 0, "tokens_per_s": 10000, "output_tokens": 2}},
            {"name": "mirror", **upstream, "price": {"input_per_mtok": 1, "output_per_mtok": 2}},
            {"name": "slowmirror", **upstream, "max_concurrency": 2},
        ],
        "models": {
            "chat": {"deployments": ["v1"], "shadow": {"deployment": "mirror", "percent": 25}},
            "slow": {"deployments": ["v1"], "shadow": {"deployment": "slowmirror", "percent": 100}},
        },
        "teams": {"t": {"api_keys": [KEY]}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    with run_keel(tmp_path_factory.mktemp("shadow"), config(faults)) as (url, _, path):
        yield url, path


@pytest.fixture(scope="module")
def client(gateway: tuple[str, Path]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway[0] + "/v1", api_key=KEY, max_retries=0) as c:
        yield c


def rows(path: Path, where: str) -> list[sqlite3.Row]:
    with contextlib.closing(sqlite3.connect(path.parent / "keel.db")) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(f"SELECT * FROM usage WHERE {where}"))


def settled(path: Path, faults: str, where: str) -> list[sqlite3.Row]:
    """The shadow rows once every copy the upstream saw is recorded (copies run after the
    answers, so they may still be arriving when the last client call returns)."""
    deadline = time.monotonic() + 10
    while True:
        sent = len(seen(faults))
        if len(rows(path, where)) == sent:
            time.sleep(0.3)  # and nothing more arrives meanwhile
            shadows = rows(path, where)
            if len(shadows) == sent == len(seen(faults)):
                return shadows
        assert time.monotonic() < deadline, (len(rows(path, where)), len(seen(faults)))
        time.sleep(0.05)


def test_about_percent_of_requests_are_copied_and_recorded(
    gateway: tuple[str, Path], client: openai.OpenAI, faults: str
) -> None:
    _, path = gateway
    plan(faults)
    messages: Any = [{"role": "user", "content": "hi"}]
    ids = [f"shadow-{i}" for i in range(240)]
    for i, request_id in enumerate(ids):
        headers = {"x-request-id": request_id}
        if i % 6 == 0:  # some streams: their copies go out as plain requests
            stream = client.chat.completions.create(
                model="chat", messages=messages, stream=True, extra_headers=headers
            )
            assert [c for c in stream if c.choices and c.choices[0].finish_reason]
        else:
            answer = client.chat.completions.create(
                model="chat", messages=messages, extra_headers=headers
            )
            assert answer.model == "sim"  # the real answer, never the shadow's
    shadows = settled(path, faults, "kind = 'shadow'")
    assert 35 <= len(shadows) <= 85, len(shadows)  # 25% of 240, give or take 3 sigma
    assert {r["request_id"] for r in shadows} <= set(ids)
    assert {(r["deployment"], r["status"], r["stream"], r["model"]) for r in shadows} == {
        ("mirror", 200, 0, "chat")
    }
    assert all(r["cost_usd"] > 0 and r["completion_tokens"] == 8 for r in shadows)
    calls = {r["request_id"]: r for r in rows(path, "kind = 'call'")}
    assert len(calls) == 240 and all(calls[r["request_id"]]["deployment"] == "v1" for r in shadows)
    copies = seen(faults)
    assert not any(c["stream"] for c in copies)
    assert all("stream" not in c["body"] and "stream_options" not in c["body"] for c in copies)
    assert {c["body"]["model"] for c in copies} == {"f"}

    report = keel_cli("report", "usage", "--by", "kind", "--format", "json",
                      "--config", str(path))  # fmt: skip
    kinds = {g["kind"]: g["requests"] for g in orjson.loads(report.stdout)}
    assert kinds == {"call": 240, "shadow": len(shadows)}


def test_a_slow_shadow_never_slows_the_answers_and_extra_copies_are_dropped(
    gateway: tuple[str, Path], client: openai.OpenAI, faults: str
) -> None:
    url, path = gateway
    plan(faults, then={"name": "slow_first_token", "delay_s": 3})
    for _ in range(6):
        started = time.monotonic()
        client.chat.completions.create(model="slow", messages=[{"role": "user", "content": "x"}])
        assert time.monotonic() - started < 1.0  # the copy takes 3 s; the answer does not wait
    metrics = httpx.get(url + "/metrics").text
    dropped = 'keel_shadow_dropped_total{deployment="slowmirror"} '
    line = next(m for m in metrics.splitlines() if m.startswith(dropped))
    assert float(line.rsplit(" ", 1)[1]) == 4.0  # max_concurrency 2: two went, four dropped
    slow = settled(path, faults, "kind = 'shadow' AND deployment = 'slowmirror'")
    assert len(slow) == 2 and all(r["status"] == 200 and r["latency_ms"] >= 3000 for r in slow)
    plan(faults)

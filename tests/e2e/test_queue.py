"""A deployment at max_concurrency: calls wait in a bounded queue, and past it keel sheds load
with 503 and retry-after instead of piling more onto the upstream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import fault_config, plan, record, seen
from tests.e2e.procs import run_keel

KEY = "sk-queue"
SLOW = {"name": "slow_first_token", "delay_s": 1.0}


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    config = fault_config(
        faults, KEY, max_concurrency=1, max_queue=1, queue_timeout_s=5,
        timeouts={"first_byte_s": 5, "first_token_s": 5},
    )  # fmt: skip
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


def ask(url: str, delay_s: float) -> httpx.Response:
    time.sleep(delay_s)  # so the requests reach keel in this order
    body = {"model": "solo", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=15)


def test_one_waits_for_the_slot_and_the_next_is_shed(keel: tuple[str, Path], faults: str) -> None:
    url, path = keel
    plan(faults, then=SLOW)
    with ThreadPoolExecutor(3) as pool:
        first, queued, shed = pool.map(ask, [url] * 3, [0, 0.2, 0.4])
    assert first.status_code == 200 and queued.status_code == 200
    assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
    assert shed.json()["error"]["code"] == "overloaded"
    assert "queue" in shed.json()["error"]["message"]
    one, two = seen(faults)  # the shed call never reached the upstream
    assert two["t"] - one["t"] >= 0.9  # the queued call was sent only once the first was done
    assert record(path, shed.headers["x-request-id"])["status"] == 503
    plan(faults, then="ok")
    assert ask(url, 0).status_code == 200  # the slot was given back
    assert httpx.get(url + "/healthz").status_code == 200


def test_a_wait_longer_than_the_deadline_is_shed(keel: tuple[str, Path], faults: str) -> None:
    url, _ = keel
    plan(faults, then=SLOW)
    body = {"model": "solo", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {KEY}", "x-keel-timeout": "0.3"}
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(ask, url, 0)
        time.sleep(0.2)
        started = time.monotonic()
        late = httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=15)
        waited = time.monotonic() - started
        assert running.result().status_code == 200
    assert late.status_code == 504 and waited < 0.9
    assert len(seen(faults)) == 1

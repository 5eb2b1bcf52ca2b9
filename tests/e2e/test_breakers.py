"""A failing deployment stops getting traffic; once it recovers it gets it back within seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import fault_config, plan, seen
from tests.e2e.procs import run_keel

KEY = "sk-breakers"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[str]:
    config = fault_config(faults, KEY, breaker={"failures": 2, "window_s": 30, "cooldown_s": 1})
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, _):
        yield url


def ask(url: str, model: str = "duo") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=10)


def test_an_open_breaker_skips_the_primary_then_a_probe_brings_it_back(
    keel: str, faults: str
) -> None:
    plan(faults, then="503")
    for _ in range(2):  # two failures open the primary's breaker
        assert ask(keel).headers["x-keel-deployment"] == "backup"
    assert len(seen(faults)) == 2
    for _ in range(5):  # open: the primary is not asked at all
        assert ask(keel).headers["x-keel-deployment"] == "backup"
    assert len(seen(faults)) == 2

    plan(faults, then="ok")  # the primary recovers
    deadline = time.monotonic() + 5
    while ask(keel).headers["x-keel-deployment"] != "flaky":
        assert time.monotonic() < deadline, "the recovered primary never got its traffic back"
        time.sleep(0.2)
    assert all(ask(keel).headers["x-keel-deployment"] == "flaky" for _ in range(3))


def test_with_no_deployment_left_the_client_is_told_when_to_retry(keel: str, faults: str) -> None:
    plan(faults, then="503")
    assert ask(keel, "solo").status_code == 502
    assert ask(keel, "solo").status_code == 502  # now open
    response = ask(keel, "solo")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "circuit_open"
    assert 1 <= int(response.headers["retry-after"]) <= 2
    plan(faults, then="ok")

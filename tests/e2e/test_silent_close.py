"""An upstream that takes the request, says nothing, then closes: a timeout, not a reset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.e2e.conftest import attempts, fault_config, plan, record, seen
from tests.e2e.procs import run_keel

KEY = "sk-silent"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    # Timeouts far longer than the silence: only the close ends the wait.
    timeouts = {"first_byte_s": 30, "first_token_s": 30}
    config = fault_config(
        faults, KEY, retries=2, backoff_s=0.05, breaker={"enabled": False}, timeouts=timeouts
    )
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


@pytest.mark.parametrize("stream", [False, True])
def test_a_close_after_a_silence_fails_over_at_once(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, path = keel
    plan(faults, then={"name": "silent_close", "delay_s": 1.5})
    body = {"model": "duo", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(
        url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {KEY}"},
        timeout=60,
    )
    assert response.status_code == 200 and response.headers["x-keel-deployment"] == "backup"
    assert len(seen(faults)) == 1  # not retried: the silence would only be waited for again
    assert attempts(path, response.headers["x-request-id"]) == [
        ("flaky", "upstream_timeout"),
        ("backup", None),
    ]


def test_a_reset_at_once_is_still_a_connection_failure(keel: tuple[str, Path], faults: str) -> None:
    url, path = keel
    plan(faults, "reset")
    response = httpx.post(
        url + "/v1/chat/completions",
        json={"model": "solo", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {KEY}"},
        timeout=60,
    )
    assert response.status_code == 200
    assert attempts(path, response.headers["x-request-id"]) == [
        ("flaky", "upstream_unavailable"),
        ("flaky", None),
    ]


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    """keel whose fault deployment keeps every timeout at its default."""
    config = fault_config(faults, KEY, breaker={"enabled": False}, timeouts={})
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


def stream_duo(url: str) -> httpx.Response:
    body = {"model": "duo", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=120)


def test_a_20_s_first_token_is_too_late_by_default(defaults: tuple[str, Path], faults: str) -> None:
    url, path = defaults
    plan(faults, then={"name": "slow_first_token", "delay_s": 20})
    response = stream_duo(url)
    assert response.status_code == 200 and response.headers["x-keel-deployment"] == "backup"
    assert attempts(path, response.headers["x-request-id"]) == [
        ("flaky", "upstream_timeout"),
        ("backup", None),
    ]


def test_a_stream_without_headers_waits_first_token_s_not_first_byte_s(
    defaults: tuple[str, Path], faults: str
) -> None:
    url, path = defaults
    plan(faults, then="no_answer")
    response = stream_duo(url)
    assert response.status_code == 200 and response.headers["x-keel-deployment"] == "backup"
    tries = orjson.loads(record(path, response.headers["x-request-id"])["attempts"])
    assert tries[0]["error"] == "upstream_timeout"
    assert tries[0]["ms"] < 40_000  # first_token_s (15 s), far short of first_byte_s (60 s)

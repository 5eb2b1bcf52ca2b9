"""An upstream that takes the request, says nothing, then closes: a timeout, not a reset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import attempts, fault_config, plan, seen
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

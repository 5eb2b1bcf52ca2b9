"""Retries, Retry-After, silent deployments and deadlines, against the fault-injecting upstream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import attempts, fault_config, plan, seen
from tests.e2e.procs import run_keel

KEY = "sk-retry"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    config = fault_config(faults, KEY, retries=2, backoff_s=0.05, breaker={"enabled": False})
    tmp = tmp_path_factory.mktemp("keel")
    with run_keel(tmp, config) as (url, _, path):
        yield url, path


def chat(url: str, model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}
    headers = {"authorization": f"Bearer {KEY}", **extra.pop("headers", {})}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=30)


def test_a_500_once_is_retried_on_the_same_deployment(keel: tuple[str, Path], faults: str) -> None:
    url, path = keel
    plan(faults, "500")
    response = chat(url, "solo")
    assert response.status_code == 200
    assert [e["fault"] for e in seen(faults)] == ["500", "ok"]
    tries = attempts(path, response.headers["x-request-id"])
    assert [(a["deployment"], a["error"]) for a in tries] == [
        ("flaky", "upstream_error"),
        ("flaky", None),
    ]


def test_a_persistent_503_fails_over_after_the_retries(keel: tuple[str, Path], faults: str) -> None:
    url, _ = keel
    plan(faults, then="503")
    with openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="duo", messages=[{"role": "user", "content": "x"}]
        )
    assert raw.headers["x-keel-deployment"] == "backup"
    assert raw.parse().choices[0].message.content
    assert len(seen(faults)) == 3  # one try and two retries, then the next deployment


def test_retry_after_is_honoured_when_it_fits(keel: tuple[str, Path], faults: str) -> None:
    url, _ = keel
    plan(faults, {"name": "429", "retry_after": 1})
    assert chat(url, "solo").status_code == 200
    first, second = seen(faults)
    assert second["t"] - first["t"] >= 0.9  # waited as told, no tight loop


def test_a_retry_after_beyond_the_deadline_fails_over_at_once(
    keel: tuple[str, Path], faults: str
) -> None:
    url, _ = keel
    plan(faults, then={"name": "429", "retry_after": 30})
    started = time.monotonic()
    response = chat(url, "duo", headers={"x-keel-timeout": "5"})
    assert response.status_code == 200 and response.headers["x-keel-deployment"] == "backup"
    assert len(seen(faults)) == 1 and time.monotonic() - started < 5


def test_a_silent_deployment_is_not_asked_again(keel: tuple[str, Path], faults: str) -> None:
    url, _ = keel
    plan(faults, then="no_answer")
    response = chat(url, "duo")
    assert response.status_code == 200 and response.headers["x-keel-deployment"] == "backup"
    assert len(seen(faults)) == 1


def test_a_reset_before_any_byte_is_retried(keel: tuple[str, Path], faults: str) -> None:
    url, _ = keel
    plan(faults, "reset")
    assert chat(url, "solo").status_code == 200
    assert [e["fault"] for e in seen(faults)] == ["reset", "ok"]


def test_the_deadline_bounds_the_whole_request(keel: tuple[str, Path], faults: str) -> None:
    url, _ = keel
    plan(faults, then="no_answer")
    started = time.monotonic()
    response = chat(url, "solo", headers={"x-keel-timeout": "0.3"})
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    assert time.monotonic() - started < 3
    assert httpx.get(url + "/healthz").status_code == 200


def test_a_bad_timeout_header_is_refused(keel: tuple[str, Path]) -> None:
    url, _ = keel
    response = chat(url, "solo", headers={"x-keel-timeout": "soon"})
    assert response.status_code == 400 and "x-keel-timeout" in response.json()["error"]["message"]


def test_context_length_goes_straight_back(keel: tuple[str, Path], faults: str) -> None:
    url, _ = keel
    plan(faults, then="context_length")
    response = chat(url, "duo")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"
    assert len(seen(faults)) == 1  # never retried, never failed over


def test_a_stream_is_retried_before_its_first_byte(keel: tuple[str, Path], faults: str) -> None:
    url, _ = keel
    plan(faults, "503")
    with openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client:
        chunks = list(client.chat.completions.create(
            model="solo", messages=[{"role": "user", "content": "s"}], stream=True
        ))  # fmt: skip
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("tok0")
    assert [e["fault"] for e in seen(faults)] == ["503", "ok"]

"""``POST /v1/feedback`` through a running keel: recorded under the caller's team, project and
key; outcomes a use case does not declare, bad bodies and missing keys refused."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.procs import keel_cli, run_keel

CONFIG_KEY = "sk-test-feedback"
USE_CASES = {"support": {"value_per_outcome_usd": {"resolved": 4.0},
                         "minutes_saved": {"escalated": 10}, "hourly_rate_usd": 60}}  # fmt: skip


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, sim_url: str) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("feedback")
    config = {
        "regions": {"eu": {}},
        "deployments": [{"name": "sim", "provider": "openai", "base_url": sim_url,
                         "model": "sim-remote", "region": "eu"}],
        "models": {"chat": ["sim"]},
        "teams": {"alpha": {"api_keys": [CONFIG_KEY]}},
        "use_cases": USE_CASES,
    }  # fmt: skip
    with run_keel(tmp, config) as (url, _, path):
        yield url, path


@pytest.fixture(scope="module")
def support_key(gateway: tuple[str, Path]) -> tuple[str, str]:
    """A key tagged with the project ``support``, and its id."""
    made = keel_cli("keys", "create", "--team", "alpha", "--project", "support",
                    "--config", str(gateway[1]))  # fmt: skip
    key_id = made.stderr.split("id ", 1)[1].split(",", 1)[0]
    return made.stdout.strip(), key_id


def ask(url: str, key: str) -> str:
    with openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="chat", messages=[{"role": "user", "content": "my printer is on fire"}]
        )
    assert raw.parse().choices[0].message.content
    return raw.headers["x-request-id"]


def feedback(url: str, key: str | None, body: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    send = {"content": body} if isinstance(body, bytes) else {"json": body}
    return httpx.post(url + "/v1/feedback", headers=headers, timeout=10, **send)


def recorded(config: Path, request_id: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(config.parent / "keel.db")) as conn:
        return conn.execute(
            "SELECT outcome, team, project, key_id FROM feedback WHERE request_id = ? "
            "ORDER BY seq", (request_id,)
        ).fetchall()  # fmt: skip


def test_feedback_is_recorded_under_the_caller(
    gateway: tuple[str, Path], support_key: tuple[str, str]
) -> None:
    url, config = gateway
    key, key_id = support_key
    request_id = ask(url, key)
    answer = feedback(url, key, {"request_id": request_id, "outcome": "escalated"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["recorded"] is True
    assert (body["team"], body["project"], body["outcome"]) == ("alpha", "support", "escalated")
    assert feedback(url, key, {"request_id": request_id, "outcome": "resolved"}).status_code == 200
    # Both are kept; keel report roi counts the latest.
    assert recorded(config, request_id) == [
        ("escalated", "alpha", "support", key_id),
        ("resolved", "alpha", "support", key_id),
    ]


def test_an_outcome_the_use_case_does_not_value_is_refused(
    gateway: tuple[str, Path], support_key: tuple[str, str]
) -> None:
    url, config = gateway
    answer = feedback(url, support_key[0], {"request_id": "r-typo", "outcome": "resolvd"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "unknown_outcome" and error["param"] == "outcome"
    assert "escalated, resolved" in error["message"] and "'support'" in error["message"]
    assert recorded(config, "r-typo") == []


def test_a_caller_without_a_use_case_may_send_any_outcome(gateway: tuple[str, Path]) -> None:
    url, config = gateway
    request_id = ask(url, CONFIG_KEY)
    answer = feedback(url, CONFIG_KEY, {"request_id": request_id, "outcome": "thumbs-up"})
    assert answer.status_code == 200 and answer.json()["project"] is None
    assert recorded(config, request_id) == [("thumbs-up", "alpha", None, "config:alpha:1")]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"outcome": "resolved"}, "request_id"),
        ({"request_id": "r1", "outcome": "x" * 65}, "outcome"),
        ({"request_id": "r" * 129, "outcome": "ok"}, "request_id"),
        ({"request_id": "r1", "outcome": 5}, "outcome"),
        (b"not json", None),
        (["r1", "ok"], None),
    ],
)
def test_bad_bodies_are_refused(gateway: tuple[str, Path], body: Any, param: str | None) -> None:
    answer = feedback(gateway[0], CONFIG_KEY, body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == param and "request_id" in error["message"]


def test_feedback_needs_a_key(gateway: tuple[str, Path]) -> None:
    url, _ = gateway
    assert feedback(url, None, {"request_id": "r1", "outcome": "ok"}).status_code == 401
    wrong = feedback(url, "sk-wrong", {"request_id": "r1", "outcome": "ok"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"

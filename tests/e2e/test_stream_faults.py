"""A broken stream never ends at the client as a normal, successful completion."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.conftest import fault_config, plan
from tests.e2e.procs import run_keel

KEY = "sk-streams"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    config = fault_config(faults, KEY)
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


def stream(url: str) -> tuple[str, list[Any]]:
    """The request id and every event the client got (``[DONE]`` as the string)."""
    body = {"model": "solo", "stream": True, "messages": [{"role": "user", "content": "s"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, headers=headers,
                      timeout=10) as response:  # fmt: skip
        assert response.status_code == 200
        lines = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
        request_id = response.headers["x-request-id"]
    return request_id, [e if e == "[DONE]" else orjson.loads(e) for e in lines]


def record(path: Path, request_id: str) -> dict[str, Any]:
    with sqlite3.connect(path.parent / "keel.db") as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM usage WHERE request_id = ?", (request_id,)).fetchone()
    return dict(row)


def text(events: list[Any]) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict) and e.get("choices")
    )


@pytest.mark.parametrize("fault", [{"name": "cut", "after_tokens": 3},
                                   {"name": "stall", "after_tokens": 3}])  # fmt: skip
def test_a_cut_or_stalled_stream_ends_in_an_error_not_a_finish(
    keel: tuple[str, Path], faults: str, fault: dict[str, Any]
) -> None:
    url, path = keel
    plan(faults, then=fault)
    request_id, events = stream(url)
    assert "[DONE]" not in events
    assert text(events) == "tok0 tok1 tok2"  # what arrived was forwarded as it came
    assert not any(e["choices"][0].get("finish_reason") for e in events if e.get("choices"))
    assert events[-1]["error"]["code"] == "stream_broken"
    row = record(path, request_id)
    assert row["status"] == 502 and row["error"] == "stream_broken" and row["cost_usd"] == 0
    assert httpx.get(url + "/healthz").status_code == 200


def test_a_malformed_event_is_skipped_and_counted(keel: tuple[str, Path], faults: str) -> None:
    url, path = keel
    plan(faults, then={"name": "malformed", "at_token": 2})
    request_id, events = stream(url)
    assert events[-1] == "[DONE]"
    assert text(events).startswith("tok0 tok1 tok2")
    assert record(path, request_id)["status"] == 200
    metrics = httpx.get(url + "/metrics").text
    assert 'keel_stream_malformed_events_total{deployment="flaky"} 1.0' in metrics


def test_a_stream_without_done_is_finalised_with_its_usage(
    keel: tuple[str, Path], faults: str
) -> None:
    url, path = keel
    plan(faults, then="no_done")
    request_id, events = stream(url)
    assert events[-1] == "[DONE]"  # the answer was whole: keel closes it properly
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    row = record(path, request_id)
    assert row["status"] == 200 and row["completion_tokens"] == 8 and row["tokens_estimated"] == 0

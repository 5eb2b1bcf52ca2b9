"""A broken stream never ends at the client as a normal, successful completion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.conftest import fault_config, plan, record, sse, text
from tests.e2e.procs import run_keel

KEY = "sk-streams"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    config = fault_config(faults, KEY)
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


def stream(url: str) -> tuple[str, list[Any]]:
    return sse(url, KEY, "solo")


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


def test_a_broken_attempt_lasts_until_the_break(keel: tuple[str, Path], faults: str) -> None:
    url, path = keel
    plan(faults, then={"name": "stall", "after_tokens": 3})
    request_id, events = stream(url)
    assert events[-1]["error"]["code"] == "stream_broken"
    (attempt,) = orjson.loads(record(path, request_id)["attempts"])
    assert attempt["error"] == "stream_broken"
    # The first token came at once; the stall was noticed only after between_chunks_s (0.5 s).
    assert attempt["ms"] >= 500

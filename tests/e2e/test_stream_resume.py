"""A stream that breaks mid-answer is carried on by a fallback: continued from what the client
already has (prefill), or re-run with the part already sent skipped when it matches; when
neither can be done it ends with an error event and no success finish."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.conftest import attempts, fault_config, plan, record, seen, sse, text
from tests.e2e.procs import run_keel

KEY = "sk-resume"
FULL = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7"
CUT = {"name": "cut", "after_tokens": 3}


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    config = fault_config(faults, KEY, breaker={"enabled": False})
    flaky = config["deployments"][0]
    config["deployments"] += [
        {**flaky, "name": "twin"},
        {**flaky, "name": "twin-p", "prefill": True},
    ]
    config["models"].update(
        {
            "pair": ["flaky", "twin"],
            "prefilled": ["flaky", "twin-p"],
            "norecover": {"deployments": ["flaky", "twin"], "stream_recovery": False},
        }
    )
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


def sdk_stream(url: str, model: str) -> tuple[str, list[Any]]:
    with (
        openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client,
        client.chat.completions.with_streaming_response.create(
            model=model, messages=[{"role": "user", "content": "s"}], stream=True
        ) as response,
    ):
        return response.headers["x-request-id"], list(response.parse())


@pytest.mark.parametrize("fault", [CUT, {"name": "stall", "after_tokens": 3}])
def test_a_broken_stream_is_re_run_on_the_fallback_past_what_was_sent(
    keel: tuple[str, Path], faults: str, fault: dict[str, Any]
) -> None:
    url, path = keel
    plan(faults, fault)
    request_id, chunks = sdk_stream(url, "pair")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == FULL
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert [e["fault"] for e in seen(faults)] == [fault["name"], "ok"]
    row = record(path, request_id)
    assert (row["status"], row["deployment"], row["completion_tokens"]) == (200, "twin", 8)
    assert attempts(path, request_id) == [("flaky", "stream_broken"), ("twin", None)]
    metrics = httpx.get(url + "/metrics").text
    assert 'broken="flaky",mode="rerun",resumed_on="twin"' in metrics


def test_a_fallback_that_takes_a_prefill_continues_the_answer(
    keel: tuple[str, Path], faults: str
) -> None:
    url, path = keel
    plan(faults, CUT)
    request_id, events = sse(url, KEY, "prefilled", stream_options={"include_usage": True})
    assert events[-1] == "[DONE]" and text(events) == FULL
    continued = seen(faults)[1]["body"]["messages"]
    assert continued[-1] == {"role": "assistant", "content": "tok0 tok1 tok2"}
    assert events[-2]["usage"]["completion_tokens"] == 5  # the fallback's own count: tok3-tok7
    row = record(path, request_id)
    assert (row["status"], row["deployment"], row["completion_tokens"]) == (200, "twin-p", 5)


def test_a_re_run_that_goes_another_way_is_not_spliced(keel: tuple[str, Path], faults: str) -> None:
    url, path = keel
    plan(faults, CUT)  # the fallback is the simulator, whose answer is different words
    request_id, events = sse(url, KEY, "duo")
    assert "[DONE]" not in events and text(events) == "tok0 tok1 tok2"
    assert events[-1]["error"]["code"] == "stream_diverged"
    assert not any(e["choices"][0].get("finish_reason") for e in events if e.get("choices"))
    row = record(path, request_id)
    assert row["status"] == 502 and row["cost_usd"] == 0
    assert attempts(path, request_id) == [("flaky", "stream_broken"), ("backup", "stream_diverged")]


def test_without_stream_recovery_a_break_ends_in_an_error_event(
    keel: tuple[str, Path], faults: str
) -> None:
    url, _ = keel
    plan(faults, CUT)
    _, events = sse(url, KEY, "norecover")
    assert "[DONE]" not in events and events[-1]["error"]["code"] == "stream_broken"
    assert len(seen(faults)) == 1
    assert httpx.get(url + "/healthz").status_code == 200

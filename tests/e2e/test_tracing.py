"""Traces end to end: keel exports its spans over OTLP/HTTP to a real receiver on loopback;
requests come from the real OpenAI SDK; the recording upstream shows the traceparent it got."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from openai import OpenAI

from tests.e2e.otlp_receiver import Received, Span, otlp_receiver
from tests.e2e.procs import free_port, run_keel

KEY, TEXT_KEY = "sk-trace-plain", "sk-trace-text"
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_PARENT = f"00-{CLIENT_TRACE}-00f067aa0ba902b7-01"
SERVER, CLIENT, ERROR = 2, 3, 2  # the protobuf's span kinds and status code


def _config(recorder_url: str, traces_url: str) -> dict[str, Any]:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    return {
        "regions": {"us": {}},
        "deployments": [
            {"name": "recorder", "provider": "openai", "base_url": recorder_url + "/v1",
             "model": "upstream-model", "region": "us"},
            {"name": "down", "provider": "openai", "base_url": dead, "model": "gone",
             "region": "us", "retries": 0, "timeouts": {"connect_s": 1}},
        ],
        "models": {"echo": ["recorder"], "duo": ["down", "recorder"]},
        "data_classes": {"open": {"regions": ["us"], "trace_text": True}},
        "teams": {"plain": {"api_keys": [KEY]},
                  "textual": {"api_keys": [TEXT_KEY], "data_class": "open"}},
        "tracing": {"enabled": True, "endpoint": traces_url, "service_name": "keel-e2e",
                    "batch_delay_s": 0.2},
    }  # fmt: skip


@pytest.fixture(scope="module")
def traced(
    tmp_path_factory: pytest.TempPathFactory, recorder_url: str
) -> Iterator[tuple[str, Received, Path]]:
    tmp = tmp_path_factory.mktemp("traced")
    with (
        otlp_receiver() as (traces_url, received),
        run_keel(tmp, _config(recorder_url, traces_url)) as (url, _, _),
    ):
        yield url, received, tmp / "keel.log"


def _spans(received: Received, trace_id: str, root: str, least: int) -> list[Span]:
    """The trace's spans once its root and at least ``least`` spans are in (batches arrive
    apart; the machine may be slow)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        spans = received.of_trace(trace_id)
        if any(s.name == root for s in spans) and len(spans) >= least:
            return spans
        time.sleep(0.1)
    raise AssertionError(f"trace {trace_id}: {[s.name for s in received.of_trace(trace_id)]}")


def _log_line(log: Path, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log.read_bytes().splitlines():
            if line.startswith(b"{") and (entry := orjson.loads(line))["request_id"] == request_id:
                return dict(entry)
        time.sleep(0.1)
    raise AssertionError(f"no access log line for {request_id}")


def _upstream_headers(recorder_url: str, text: str) -> dict[str, str]:
    for request in httpx.get(recorder_url + "/_recorded").json():
        if text in request["body"]:
            return dict(request["headers"])
    raise AssertionError(f"the upstream got no request with {text!r}")


def _no_text(spans: list[Span], text: str) -> None:
    for span in spans:
        assert text not in repr(span.attributes), span.name


def test_a_call_continues_the_clients_trace_to_the_upstream_and_the_log(
    traced: tuple[str, Received, Path], recorder_url: str
) -> None:
    url, received, log = traced
    with OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="echo",
            messages=[{"role": "user", "content": "secret-prompt-one"}],
            max_tokens=20,
            temperature=0.5,
            extra_headers={"traceparent": CLIENT_PARENT, "tracestate": "acme=7"},
        )
        answer = raw.parse()
    assert answer.choices[0].message.content == "recorded"
    spans = _spans(received, CLIENT_TRACE, "chat echo", 6)
    root = next(s for s in spans if s.name == "chat echo")
    assert root.kind == SERVER
    assert root.parent_id == CLIENT_PARENT[36:52]  # the client's span
    assert root.resource["service.name"] == "keel-e2e"
    attributes = root.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "echo"
    assert attributes["gen_ai.response.model"] == "upstream-model"
    assert attributes["gen_ai.usage.input_tokens"] == 11
    assert attributes["gen_ai.usage.output_tokens"] == 7
    assert attributes["gen_ai.request.max_tokens"] == 20
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert attributes["keel.team"] == "plain"
    assert attributes["keel.deployment"] == "recorder"
    stages = {s.name for s in spans if s.parent_id == root.span_id}
    assert {"keel.identify", "keel.admit", "keel.classify", "keel.guard", "keel.route",
            "keel.account"} <= stages  # fmt: skip
    route = next(s for s in spans if s.name == "keel.route")
    attempt = next(s for s in spans if s.kind == CLIENT)
    assert attempt.parent_id == route.span_id
    assert attempt.name == "chat upstream-model"
    assert attempt.attributes["gen_ai.provider.name"] == "openai"
    assert attempt.attributes["server.address"] == "127.0.0.1"
    # The upstream got the attempt's span as its parent, in the client's trace, and its state.
    upstream = _upstream_headers(recorder_url, "secret-prompt-one")
    assert upstream["traceparent"] == f"00-{CLIENT_TRACE}-{attempt.span_id}-01"
    assert upstream["tracestate"] == "acme=7"
    _no_text(spans, "secret-prompt-one")
    _no_text(spans, "recorded")
    line = _log_line(log, raw.headers["x-request-id"])
    assert line["trace_id"] == CLIENT_TRACE


def test_a_stream_is_one_trace_whose_root_ends_with_it(
    traced: tuple[str, Received, Path], recorder_url: str
) -> None:
    url, received, log = traced
    with OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="echo", messages=[{"role": "user", "content": "stream-two"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == "recorded"
    trace_id = _log_line(log, raw.headers["x-request-id"])["trace_id"]
    assert trace_id is not None and len(trace_id) == 32
    spans = _spans(received, trace_id, "chat echo", 6)
    root = next(s for s in spans if s.name == "chat echo")
    assert root.parent_id == ""  # a new trace: the client sent none
    assert root.attributes["keel.stream"] is True
    assert root.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert root.attributes["gen_ai.usage.output_tokens"] == 2
    attempt = next(s for s in spans if s.kind == CLIENT)
    upstream = _upstream_headers(recorder_url, "stream-two")
    assert upstream["traceparent"].split("-")[1:3] == [trace_id, attempt.span_id]


def test_a_failover_is_two_attempt_spans_the_first_failed(
    traced: tuple[str, Received, Path],
) -> None:
    url, received, log = traced
    with OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="duo", messages=[{"role": "user", "content": "failover-three"}]
        )
    trace_id = _log_line(log, raw.headers["x-request-id"])["trace_id"]
    spans = _spans(received, trace_id, "chat duo", 8)
    attempts = sorted((s for s in spans if s.kind == CLIENT), key=lambda s: s.name)
    assert [s.attributes["keel.deployment"] for s in attempts] == ["down", "recorder"]
    assert attempts[0].status == ERROR
    assert attempts[0].attributes["error.type"] == "upstream_unavailable"
    assert attempts[1].status != ERROR
    root = next(s for s in spans if s.name == "chat duo")
    assert root.attributes["keel.attempts"] == 2


def test_text_is_traced_only_for_a_data_class_that_allows_it(
    traced: tuple[str, Received, Path],
) -> None:
    url, received, log = traced
    with OpenAI(base_url=url + "/v1", api_key=TEXT_KEY, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="echo", messages=[{"role": "user", "content": "open-prompt-four"}]
        )
    trace_id = _log_line(log, raw.headers["x-request-id"])["trace_id"]
    root = next(s for s in _spans(received, trace_id, "chat echo", 6) if s.name == "chat echo")
    assert root.attributes["keel.data_class"] == "open"
    inputs = orjson.loads(root.attributes["gen_ai.input.messages"])
    assert inputs == [{"role": "user", "parts": [{"type": "text", "content": "open-prompt-four"}]}]
    outputs = orjson.loads(root.attributes["gen_ai.output.messages"])
    assert outputs[0]["parts"][0]["content"] == "recorded"

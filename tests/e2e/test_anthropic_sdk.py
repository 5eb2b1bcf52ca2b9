"""keel's /v1/messages driven by the real ``anthropic`` SDK, in front of OpenAI-compatible
upstreams (a real ``keel sim``, the recording upstream, the fault upstream): every call is
translated to Chat Completions and back, and holds to the same failover, guards, budgets and
records as a chat call."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import orjson
import pytest

from tests.e2e.conftest import KEY, plan, seen
from tests.e2e.procs import free_port, run_keel

EMAIL, PHONE = "anna.schmidt@example.com", "+49 151 23456789"


@pytest.fixture(scope="module")
def keel(
    tmp_path_factory: pytest.TempPathFactory, sim_url: str, recorder_url: str, faults: str
) -> Iterator[tuple[str, Path]]:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    config: dict[str, Any] = {
        "server": {"access_log": False},
        "regions": {"local": {}},
        "deployments": [
            {
                "name": "sim-http",
                "provider": "openai",
                "base_url": sim_url,
                "model": "sim-remote",
                "region": "local",
                "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
            },
            {
                "name": "recorder",
                "provider": "openai",
                "base_url": recorder_url + "/v1",
                "model": "upstream-model",
                "region": "local",
            },
            {
                "name": "down",
                "provider": "openai",
                "base_url": dead,
                "model": "x",
                "region": "local",
                "retries": 0,
                "timeouts": {"connect_s": 1},
            },
            {
                "name": "echo",
                "provider": "openai",
                "base_url": faults + "/v1",
                "model": "e",
                "region": "local",
                "retries": 0,
            },
            {
                "name": "dear",
                "provider": "sim",
                "model": "sim",
                "region": "local",
                "sim": {"ttft_ms": 0, "tokens_per_s": 10000},
                "price": {"input_per_mtok": 0, "output_per_mtok": 1000},
            },
        ],
        "models": {
            "chat": ["sim-http"],
            "tools": ["recorder"],
            "duo": ["down", "sim-http"],
            "echo": ["echo"],
            "dear": ["dear"],
        },
        "data_classes": {
            "redact": {"regions": ["local"], "pii": {"prompts": "redact", "answers": "redact"}}
        },
        "teams": {
            "alpha": {"api_keys": [KEY]},
            "private": {"api_keys": ["sk-redact"], "data_class": "redact"},
        },
        "budgets": [{"name": "team-month", "scope": "team", "limit_usd": 0.50, "period": "month"}],
    }
    with run_keel(tmp_path_factory.mktemp("keel"), config) as (url, _, path):
        yield url, path


def client(url: str, key: str = KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key=key, max_retries=0, timeout=30)


def record(path: Path, request_id: str) -> dict[str, Any]:
    with sqlite3.connect(path.parent / "keel.db") as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM usage WHERE request_id = ?", (request_id,)).fetchone()
    assert row is not None, f"no usage record for {request_id}"
    return dict(row)


def test_messages_create_is_answered_and_recorded_with_tokens_and_cost(
    keel: tuple[str, Path],
) -> None:
    url, path = keel
    with client(url) as c:
        raw = c.messages.with_raw_response.create(
            model="chat",
            max_tokens=20,
            system="You are terse.",
            messages=[{"role": "user", "content": "Tell me about keels"}],
        )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert 0 < message.usage.output_tokens <= 20 and message.usage.input_tokens > 0
    assert raw.headers["x-keel-deployment"] == "sim-http"
    row = record(path, raw.headers["request-id"])
    assert row["endpoint"] == "messages" and row["status"] == 200 and row["team"] == "alpha"
    assert row["prompt_tokens"] == message.usage.input_tokens
    assert row["completion_tokens"] == message.usage.output_tokens
    assert row["tokens_estimated"] == 0
    expected = row["prompt_tokens"] * 1e-6 + row["completion_tokens"] * 2e-6
    assert row["cost_usd"] == pytest.approx(expected)


def test_messages_stream_text_deltas_assemble_to_the_answer(keel: tuple[str, Path]) -> None:
    url, path = keel
    prompt = [{"role": "user", "content": "Tell me about sails"}]
    with client(url) as c:
        whole = c.messages.create(model="chat", max_tokens=30, messages=prompt)
        with c.messages.stream(model="chat", max_tokens=30, messages=prompt) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
            request_id = stream.response.headers["request-id"]
    assert text and text == whole.content[0].text  # the sim answers a prompt the same way
    assert final.stop_reason == whole.stop_reason
    assert final.usage.output_tokens == whole.usage.output_tokens
    assert final.usage.input_tokens == whole.usage.input_tokens
    row = record(path, request_id)
    assert row["stream"] == 1 and row["completion_tokens"] == final.usage.output_tokens


def test_raw_stream_has_anthropic_event_lines(keel: tuple[str, Path]) -> None:
    url, _ = keel
    body = {
        "model": "chat",
        "max_tokens": 5,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", url + "/v1/messages", json=body, headers=headers, timeout=30) as r:
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line]
    names = [line[7:] for line in lines if line.startswith("event: ")]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert "data: [DONE]" not in lines


def test_tool_use_round_trip(keel: tuple[str, Path], recorder_url: str) -> None:
    url, _ = keel
    tools: Any = [
        {
            "name": "lookup",
            "description": "Look a word up",
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
        }
    ]
    asked: Any = [{"role": "user", "content": "Look up x"}]
    with client(url) as c:
        first = c.messages.create(model="tools", max_tokens=50, tools=tools, messages=asked)
        use = next(b for b in first.content if b.type == "tool_use")
        assert first.stop_reason == "tool_use"
        assert (use.id, use.name, use.input) == ("call_1", "lookup", {"q": "x"})
        follow: Any = [
            *asked,
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": use.id, "content": "x means ten"}
                ],
            },
        ]
        c.messages.create(model="tools", max_tokens=50, tools=tools, messages=follow)
    sent = orjson.loads(httpx.get(recorder_url + "/_recorded").json()[-1]["body"])
    assert sent["tools"][0]["function"]["name"] == "lookup"
    assistant, result = sent["messages"][1], sent["messages"][2]
    assert assistant["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q":"x"}'}
    assert result == {"role": "tool", "tool_call_id": "call_1", "content": "x means ten"}


def test_a_bad_request_gets_an_anthropic_error_naming_the_field(keel: tuple[str, Path]) -> None:
    url, _ = keel
    with client(url) as c, pytest.raises(anthropic.BadRequestError) as caught:
        c.messages.create(
            model="chat",
            max_tokens=10,
            extra_body={"top_k": 5},
            messages=[{"role": "user", "content": "hi"}],
        )
    body = caught.value.response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "top_k" in body["error"]["message"]
    raw = httpx.post(
        url + "/v1/messages",
        headers={"x-api-key": KEY},
        json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert raw.status_code == 400 and "max_tokens" in raw.json()["error"]["message"]
    with client(url, "sk-wrong") as c, pytest.raises(anthropic.AuthenticationError) as denied:
        c.messages.create(model="chat", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert denied.value.response.json()["error"]["type"] == "authentication_error"
    with client(url) as c, pytest.raises(anthropic.NotFoundError) as missing:
        c.messages.create(model="nope", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert missing.value.response.json()["error"]["type"] == "not_found_error"


def test_failover_when_one_deployment_is_down(keel: tuple[str, Path]) -> None:
    url, path = keel
    with client(url) as c:
        raw = c.messages.with_raw_response.create(
            model="duo", max_tokens=10, messages=[{"role": "user", "content": "hello"}]
        )
    assert raw.parse().content[0].text
    assert raw.headers["x-keel-deployment"] == "sim-http"
    tries = orjson.loads(record(path, raw.headers["request-id"])["attempts"])
    assert [t["deployment"] for t in tries] == ["down", "sim-http"]
    assert tries[0]["error"] is not None and tries[1]["error"] is None


@pytest.mark.parametrize("stream", [False, True])
def test_personal_data_is_redacted_both_ways(
    keel: tuple[str, Path], faults: str, stream: bool
) -> None:
    url, _ = keel
    plan(faults, then="echo")
    prompt: Any = [
        {
            "role": "user",
            "content": [{"type": "text", "text": f"Mail {EMAIL} or call {PHONE} today"}],
        }
    ]
    with client(url, "sk-redact") as c:
        if stream:
            with c.messages.stream(model="echo", max_tokens=50, messages=prompt) as s:
                answer = "".join(s.text_stream)
        else:
            message = c.messages.create(model="echo", max_tokens=50, messages=prompt)
            answer = message.content[0].text  # type: ignore[union-attr]
    upstream = seen(faults)[-1]["body"]["messages"][-1]["content"]
    assert upstream == "Mail [EMAIL] or call [PHONE] today"
    assert answer == "Mail [EMAIL] or call [PHONE] today"


def test_a_budget_refusal_is_a_rate_limit_error(keel: tuple[str, Path]) -> None:
    url, _ = keel
    with client(url) as c, pytest.raises(anthropic.RateLimitError) as caught:
        c.messages.create(
            model="dear", max_tokens=1000, messages=[{"role": "user", "content": "x"}]
        )
    body = caught.value.response.json()
    assert caught.value.status_code == 429 and body["error"]["type"] == "rate_limit_error"
    assert "max_tokens" in body["error"]["message"]


def test_count_tokens_is_an_estimate(keel: tuple[str, Path]) -> None:
    url, _ = keel
    with client(url) as c:
        raw = c.messages.with_raw_response.count_tokens(
            model="chat", messages=[{"role": "user", "content": "How many tokens is this?"}]
        )
    assert raw.parse().input_tokens > 0 and raw.headers["x-keel-estimated"] == "true"

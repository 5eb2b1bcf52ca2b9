"""The real openai SDK through keel to Anthropic deployments (the recording Anthropic upstream,
a real process on loopback): chat, streams, tool calls, usage and cost with cached tokens, and
Anthropic's errors failing over the way keel fails over any upstream."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.e2e.procs import free_port, run_keel, run_process

KEY = "sk-test-anthropic"
UPSTREAM = Path(__file__).parents[1] / "providers" / "anthropic_upstream.py"
PRICE = {"input_per_mtok": 3.0, "cached_input_per_mtok": 0.3, "output_per_mtok": 15.0}
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


class Gateway:
    def __init__(self, upstream: str, path: Path, client: openai.OpenAI) -> None:
        self.upstream = upstream
        self.path = path
        self.client = client

    def row(self, request_id: str) -> dict[str, Any]:
        with sqlite3.connect(self.path.parent / "keel.db") as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT * FROM usage WHERE request_id = ?", (request_id,))
            found = [dict(r) for r in rows.fetchall()]
        assert len(found) == 1, f"expected one usage record for {request_id}, found {found}"
        return found[0]

    def asked(self, text: str) -> list[str]:
        """The upstream paths that got a request whose last message says ``text``."""
        seen = httpx.get(self.upstream + "/_recorded", timeout=30).json()
        return [r["path"] for r in seen if text in r["body"]]


def deployment(name: str, upstream: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "anthropic",
        "model": f"claude-{name}",
        "region": "eu",
        "base_url": f"{upstream}/{name}",
        "api_key": "sk-ant-fake",
        "price": PRICE,
        "anthropic": {"max_tokens": 64},
        **extra,
    }


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("anthropic")
    port = free_port()
    upstream = f"http://127.0.0.1:{port}"
    args = [sys.executable, str(UPSTREAM), str(port)]
    with run_process(args, upstream + "/health", tmp / "upstream.log"):
        config = {
            "server": {"access_log": False},
            "regions": {"eu": {}},
            "deployments": [
                # The first fails over at once (no retries) and never rests (no breaker), so
                # each test sees its own error.
                deployment("a", upstream, retries=0, breaker={"enabled": False}),
                deployment("b", upstream),
            ],
            "models": {"claude": ["a", "b"]},
            "teams": {"t": {"api_keys": [KEY]}},
        }
        with (
            run_keel(tmp, config) as (url, _, path),
            openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=60) as client,
        ):
            yield Gateway(upstream, path, client)


def say(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def test_chat_usage_and_cost_with_cached_tokens(gateway: Gateway) -> None:
    raw = gateway.client.chat.completions.with_raw_response.create(
        model="claude", messages=[{"role": "system", "content": "Be brief."}, *say("hello")]
    )
    answer = raw.parse()
    assert answer.choices[0].message.content == "Hello from the recorder."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "claude-a" and raw.headers["x-keel-deployment"] == "a"
    usage = answer.usage
    assert usage is not None and usage.prompt_tokens == 60 and usage.completion_tokens == 5
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 30
    row = gateway.row(raw.headers["x-request-id"])
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (60, 30, 5)
    assert row["tokens_estimated"] == 0
    expected = (30 * 3.0 + 30 * 0.3 + 5 * 15.0) / 1e6
    assert row["cost_usd"] == pytest.approx(expected)
    assert float(raw.headers["x-keel-cost-usd"]) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_assembles_the_text(gateway: Gateway, include_usage: bool) -> None:
    options: dict[str, Any] = {"include_usage": True} if include_usage else {}
    with gateway.client.chat.completions.with_streaming_response.create(
        model="claude",
        messages=say(f"stream {include_usage}"),
        stream=True,
        stream_options=options or openai.NOT_GIVEN,
    ) as response:
        request_id = response.headers["x-request-id"]
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the recorder."
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    if include_usage:
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert chunks[-1].usage.prompt_tokens == 60
    else:
        assert all(c.choices for c in chunks), "keel's own usage chunk leaked"
    row = gateway.row(request_id)
    assert row["stream"] == 1 and row["status"] == 200 and row["tokens_estimated"] == 0
    assert (row["prompt_tokens"], row["cached_tokens"], row["completion_tokens"]) == (60, 30, 5)


def test_tool_call_round_trip(gateway: Gateway) -> None:
    client = gateway.client
    first = client.chat.completions.create(
        model="claude", messages=say("weather?"), tools=[WEATHER]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.function.name == "weather"
    assert orjson.loads(call.function.arguments) == {"city": "Paris", "units": ["c"]}
    history = [
        *say("weather?"),
        {"role": "assistant", "content": choice.message.content, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
    ]
    second = client.chat.completions.create(model="claude", messages=history, tools=[WEATHER])
    assert second.choices[0].message.content == "The tool said: sunny, 21 C"


def test_streamed_tool_call(gateway: Gateway) -> None:
    chunks = list(
        gateway.client.chat.completions.create(
            model="claude", messages=say("weather, streamed?"), tools=[WEATHER], stream=True
        )
    )
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert calls[0].id == "toolu_rec1" and calls[0].function.name == "weather"
    arguments = "".join(t.function.arguments or "" for t in calls)
    assert orjson.loads(arguments) == {"city": "Paris", "units": ["c"]}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("429", "rate_limit_error"),
        ("529", "overloaded_error"),
        ("503", "api_error"),
        ("500", "api_error"),
        ("401", "authentication_error"),
        ("403", "permission_error"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_errors_fail_over_to_the_next_deployment(
    gateway: Gateway, status: str, kind: str, stream: bool
) -> None:
    text = f"fail a {status} {kind} {stream}"
    raw = gateway.client.chat.completions.with_raw_response.create(
        model="claude", messages=say(text), stream=stream
    )
    assert raw.headers["x-keel-deployment"] == "b"
    parsed = raw.parse()
    if stream:
        content = "".join(c.choices[0].delta.content or "" for c in parsed if c.choices)
    else:
        content = parsed.choices[0].message.content
    assert content == "Hello from the recorder."
    assert gateway.asked(text) == ["/a/v1/messages", "/b/v1/messages"]


def test_an_error_event_before_the_answer_fails_over(gateway: Gateway) -> None:
    text = "event-fail a overloaded_error"
    chunks = list(
        gateway.client.chat.completions.create(model="claude", messages=say(text), stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert gateway.asked(text) == ["/a/v1/messages", "/b/v1/messages"]


@pytest.mark.parametrize(
    ("kind", "code"),
    [("invalid_request_error", "invalid_request_error"), ("too-long", "context_length_exceeded")],
)
def test_a_bad_request_is_not_failed_over(gateway: Gateway, kind: str, code: str) -> None:
    text = f"fail a 400 {kind}"
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client.chat.completions.create(model="claude", messages=say(text))
    assert caught.value.status_code == 400
    assert caught.value.code == code
    assert gateway.asked(text) == ["/a/v1/messages"]


def test_an_untranslatable_field_is_refused_by_name(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        gateway.client.chat.completions.create(model="claude", messages=say("two answers"), n=2)
    assert caught.value.status_code == 400 and caught.value.param == "n"
    assert "'n'" in caught.value.message
    assert gateway.asked("two answers") == []

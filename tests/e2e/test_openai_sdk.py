"""keel in front of a real `keel sim` and a recording upstream, driven by the real openai SDK."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import orjson
import pytest

from tests.e2e.conftest import KEY, OTHER_KEY

_clients: dict[tuple[str, str], openai.OpenAI] = {}


def client(url: str, key: str = KEY) -> openai.OpenAI:
    if (url, key) not in _clients:
        _clients[url, key] = openai.OpenAI(
            base_url=url + "/v1", api_key=key, max_retries=0, timeout=30
        )
    return _clients[url, key]


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for c in _clients.values():
        c.close()
    _clients.clear()


def usage_rows(config_path: Path) -> list[dict[str, object]]:
    db = config_path.parent / "keel.db"
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM usage ORDER BY seq")]


def row_for(config_path: Path, request_id: str) -> dict[str, object]:
    rows = [r for r in usage_rows(config_path) if r["request_id"] == request_id]
    assert len(rows) == 1, f"expected one usage record for {request_id}, found {len(rows)}"
    return rows[0]


def test_chat_through_sim(gateway: tuple[str, Path]) -> None:
    url, path = gateway
    raw = client(url).chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "Tell me about keels"}], max_tokens=20
    )
    answer = raw.parse()
    assert answer.choices[0].message.content
    assert answer.model == "sim-remote"  # the deployment that answered names itself
    assert answer.usage is not None and 0 < answer.usage.completion_tokens <= 20
    assert raw.headers["x-keel-deployment"] == "sim-http"
    assert raw.headers["x-keel-region"] == "eu"
    expected_cost = answer.usage.prompt_tokens * 1e-6 + answer.usage.completion_tokens * 2e-6
    assert float(raw.headers["x-keel-cost-usd"]) == pytest.approx(expected_cost, abs=1e-8)
    assert float(raw.headers["x-keel-overhead-ms"]) >= 0
    row = row_for(path, raw.headers["x-request-id"])
    assert row["team"] == "alpha" and row["status"] == 200 and row["deployment"] == "sim-http"
    assert row["prompt_tokens"] == answer.usage.prompt_tokens
    assert row["completion_tokens"] == answer.usage.completion_tokens
    assert row["tokens_estimated"] == 0
    assert row["cost_usd"] == pytest.approx(expected_cost)


def test_request_id_is_echoed(gateway: tuple[str, Path]) -> None:
    url, path = gateway
    raw = client(url).chat.completions.with_raw_response.create(
        model="chat",
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-request-id": "req-from-client-42"},
    )
    assert raw.headers["x-request-id"] == "req-from-client-42"
    assert row_for(path, "req-from-client-42")["status"] == 200


def test_stream_without_usage_hides_keels_usage_chunk(gateway: tuple[str, Path]) -> None:
    url, path = gateway
    with client(url).chat.completions.with_streaming_response.create(
        model="chat", messages=[{"role": "user", "content": "stream please"}], stream=True,
        max_tokens=12,
    ) as response:  # fmt: skip
        request_id = response.headers["x-request-id"]
        chunks = list(response.parse())
    assert chunks, "no chunks"
    assert all(c.choices for c in chunks), "the usage-only chunk keel asked for leaked"
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    row = row_for(path, request_id)
    assert row["stream"] == 1 and row["status"] == 200
    assert 0 < int(row["completion_tokens"]) <= 12  # type: ignore[call-overload]
    assert row["tokens_estimated"] == 0  # metered from the upstream's own usage chunk
    assert row["ttft_ms"] is not None
    assert text


def test_stream_with_usage_keeps_it(gateway: tuple[str, Path]) -> None:
    url, _ = gateway
    chunks = list(
        client(url).chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "count"}],
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=8,
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens <= 8


def test_completions_endpoint(gateway: tuple[str, Path]) -> None:
    url, _ = gateway
    answer = client(url).completions.create(model="chat", prompt="Once upon a time", max_tokens=5)
    assert answer.choices[0].text
    assert answer.usage is not None and answer.usage.completion_tokens <= 5


def test_embeddings_offline_model(gateway: tuple[str, Path]) -> None:
    url, path = gateway
    raw = client(url).embeddings.with_raw_response.create(
        model="embed", input=["I forgot my password", "How do I reset my password?"]
    )
    answer = raw.parse()
    assert len(answer.data) == 2 and len(answer.data[0].embedding) == 384
    a, b = answer.data[0].embedding, answer.data[1].embedding
    assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.5
    row = row_for(path, raw.headers["x-request-id"])
    assert row["endpoint"] == "embeddings" and int(row["prompt_tokens"]) > 0  # type: ignore[call-overload]


def test_models_lists_what_the_key_may_use(gateway: tuple[str, Path]) -> None:
    url, _ = gateway
    assert {m.id for m in client(url).models.list()} == {"chat", "echo", "embed", "broken"}
    assert [m.id for m in client(url, OTHER_KEY).models.list()] == ["chat"]
    assert client(url).models.retrieve("chat").id == "chat"
    cards = {m.id: (m.model_extra or {})["keel"]["protocols"] for m in client(url).models.list()}
    # OpenAI-compatible upstreams: their own endpoints natively, Messages through keel.
    assert cards["chat"] == {
        "chat": "native",
        "completions": "native",
        "embeddings": "native",
        "messages": "translated",
        "responses": "translated",
    }
    assert cards["embed"] == {"embeddings": "native"}


def test_unknown_fields_pass_through_both_ways(
    gateway: tuple[str, Path], recorder_url: str
) -> None:
    url, _ = gateway
    params = {"type": "object", "properties": {"q": {"type": "string"}}}
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": params}}]
    sent = {
        "tools": tools,
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "logprobs": True,
        "top_logprobs": 2,
        "seed": 1234,
        "n": 1,
        "stop": ["\n\n", "END"],
        "user": "user-77",
        "temperature": 0.25,
    }
    extra = {"x_vendor_option": {"deep": [1, {"two": 2.5}], "flag": None}, "guided_regex": "a+"}
    raw = client(url).chat.completions.with_raw_response.create(
        model="echo", messages=[{"role": "user", "content": "pass me through"}],
        extra_body=extra, **sent,  # type: ignore[arg-type]
    )  # fmt: skip
    got = httpx.get(recorder_url + "/_recorded").json()[-1]
    body = orjson.loads(got["body"])
    assert body.pop("model") == "upstream-model"
    expected = {"messages": [{"role": "user", "content": "pass me through"}], **sent, **extra}
    assert body == expected
    assert got["headers"]["authorization"] == "Bearer sk-upstream-secret"
    assert got["headers"]["x-request-id"] == raw.headers["x-request-id"]
    answer = orjson.loads(raw.content)
    assert answer["x_vendor"] == {"trace": [1, 2.5, "three"], "nested": {"ok": True}}
    assert answer["system_fingerprint"] == "fp_recorder"
    assert answer["choices"][0]["logprobs"] == {
        "content": [{"token": "recorded", "logprob": -0.25}]
    }
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "lookup"


def test_stream_unknown_fields_pass_through(gateway: tuple[str, Path], recorder_url: str) -> None:
    url, _ = gateway
    with httpx.stream(
        "POST", url + "/v1/chat/completions", headers={"authorization": f"Bearer {KEY}"},
        json={"model": "echo", "stream": True, "messages": [{"role": "user", "content": "s"}],
              "x_vendor_option": 7},
    ) as response:  # fmt: skip
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    events = [orjson.loads(line[6:]) for line in lines[:-1]]
    assert all(e["x_vendor"] == {"chunk": True} for e in events)
    assert all("usage" not in e for e in events)  # keel's include_usage left no trace
    sent = orjson.loads(httpx.get(recorder_url + "/_recorded").json()[-1]["body"])
    assert sent["x_vendor_option"] == 7 and sent["stream_options"] == {"include_usage": True}


def test_upstream_4xx_reaches_the_client_unchanged(gateway: tuple[str, Path]) -> None:
    url, path = gateway
    with pytest.raises(openai.BadRequestError) as info:
        client(url).chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "fail with 400"}]
        )
    assert info.value.code == "context_length_exceeded"
    row = row_for(path, info.value.response.headers["x-request-id"])
    assert row["status"] == 400 and row["cost_usd"] == 0


@pytest.mark.parametrize(
    ("key", "model", "error", "code"),
    [
        ("sk-wrong", "chat", openai.AuthenticationError, "invalid_api_key"),
        (OTHER_KEY, "echo", openai.PermissionDeniedError, "model_not_allowed"),
        (KEY, "no-such-model", openai.NotFoundError, "model_not_found"),
        (KEY, "embed", openai.BadRequestError, "unsupported_operation"),
    ],
)
def test_errors_are_openai_shaped_and_recorded(
    gateway: tuple[str, Path], key: str, model: str, error: type[openai.APIStatusError], code: str
) -> None:
    url, path = gateway
    with pytest.raises(error) as info:
        client(url, key).chat.completions.create(
            model=model, messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.code == code
    assert info.value.message  # says what to do next
    row = row_for(path, info.value.response.headers["x-request-id"])
    assert row["status"] == info.value.status_code and row["error"] == code


def test_missing_key_says_how_to_get_one(gateway: tuple[str, Path]) -> None:
    url, _ = gateway
    body = {"model": "chat", "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(url + "/v1/chat/completions", json=body)
    assert response.status_code == 401
    assert "keel keys create" in response.json()["error"]["message"]


def test_upstream_down_is_a_502_and_keel_stays_up(gateway: tuple[str, Path]) -> None:
    url, path = gateway
    with pytest.raises(openai.APIStatusError) as info:
        client(url).chat.completions.create(
            model="broken", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.status_code == 502
    assert "unreachable" in info.value.message
    row = row_for(path, info.value.response.headers["x-request-id"])
    attempts = orjson.loads(str(row["attempts"]))
    assert attempts[0]["deployment"] == "down" and attempts[0]["error"] == "upstream_unavailable"
    assert httpx.get(url + "/readyz").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (
            b'{"model": "chat", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
            400,
            "invalid_encoding",
        ),
        (b'{"model": 5, "messages": []}', 400, "invalid_request"),
        (b'{"model": "chat", "messages": "hello"}', 400, "invalid_request"),
        (
            b'{"model": "chat", "stream": "yes", "messages": [{"role": "user"}]}',
            400,
            "invalid_request",
        ),
        (b"[1, 2]", 400, "invalid_request"),
        (b"", 400, "invalid_json"),
        (
            b'{"model": "chat", "messages": [{"role": "user", "content": "'
            + b"a" * 5_000_000
            + b'"}]}',
            413,
            "request_too_large",
        ),
    ],
)
def test_bad_bodies(gateway: tuple[str, Path], body: bytes, status: int, code: str) -> None:
    url, path = gateway
    response = httpx.post(
        url + "/v1/chat/completions", content=body,
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
    )  # fmt: skip
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert row_for(path, response.headers["x-request-id"])["status"] == status
    assert httpx.get(url + "/healthz").status_code == 200


def test_metrics_count_what_happened(gateway: tuple[str, Path]) -> None:
    url, _ = gateway
    client(url).chat.completions.create(model="chat", messages=[{"role": "user", "content": "m"}])
    text = httpx.get(url + "/metrics").text
    assert 'keel_requests_total{deployment="sim-http",model="chat",status="200"}' in text
    assert 'keel_tokens_total{deployment="sim-http",kind="completion",model="chat"}' in text
    for name in ("keel_request_duration_seconds_bucket", "keel_overhead_seconds_bucket",
                 "keel_upstream_duration_seconds_bucket", "keel_time_to_first_token_seconds",
                 "keel_cost_usd_total", "keel_in_flight_requests"):  # fmt: skip
        assert name in text, name

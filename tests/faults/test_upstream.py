"""The fault-injecting upstream, run as a real process and seen from a client's side."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

CHAT = "/v1/chat/completions"
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "hi"},
]
TEXT = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7"
MODEL_LIST = {
    "object": "list",
    "data": [{"id": "f", "object": "model", "created": 0, "owned_by": "faults"}],
}
BROKEN = (httpx.RemoteProtocolError, httpx.ReadError)


@pytest.fixture
def upstream(faults: str) -> str:
    return faults  # the shared fixture in tests/conftest.py


@pytest.fixture
def client(upstream: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=upstream, timeout=5.0) as http:
        http.post("/_faults", json={"reset": True}).raise_for_status()
        yield http


def body(stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {"model": "m1", "messages": MESSAGES, "stream": stream, **extra}


def fault(name: str, **params: Any) -> dict[str, str]:
    return {"x-fault": json.dumps({"name": name, **params}) if params else name}


def set_faults(http: httpx.Client, plan: list[Any], then: Any = "ok") -> None:
    http.post("/_faults", json={"plan": plan, "then": then}).raise_for_status()


def read_stream(
    http: httpx.Client, headers: dict[str, str], timeout: float = 5.0
) -> tuple[list[str], Exception | None]:
    """The SSE ``data:`` payloads received, and the error that ended the stream if any."""
    data: list[str] = []
    try:
        with http.stream("POST", CHAT, json=body(True), headers=headers, timeout=timeout) as resp:
            assert resp.status_code == 200
            data.extend(line[6:] for line in resp.iter_lines() if line.startswith("data: "))
    except httpx.HTTPError as exc:
        return data, exc
    return data, None


def contents(data: list[str]) -> list[str]:
    chunks = [json.loads(item) for item in data if item != "[DONE]"]
    return [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]


def raw_request(port: int, name: str) -> bytes:
    data = json.dumps(body()).encode()
    head = f"POST {CHAT} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nx-fault: {name}\r\n"
    return f"{head}content-length: {len(data)}\r\n\r\n".encode() + data


def eventually(
    attempt: Callable[[], httpx.Response], errors: tuple[type[Exception], ...], within: float = 5.0
) -> httpx.Response:
    """Retry ``attempt`` while it raises one of ``errors``, for up to ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            return attempt()
        except errors:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def sdk_for(upstream: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{upstream}/v1", api_key="sk-x", max_retries=0)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_ok_with_the_openai_sdk(upstream: str, client: httpx.Client) -> None:
    with sdk_for(upstream) as sdk:
        done = sdk.chat.completions.create(model="m1", messages=MESSAGES)
    assert done.model == "m1"
    assert done.choices[0].message.content == TEXT
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (10, 8)


def test_ok_stream_with_the_openai_sdk(upstream: str, client: httpx.Client) -> None:
    with sdk_for(upstream) as sdk:
        stream = sdk.chat.completions.create(
            model="m1",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        with stream:
            chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 8


def test_ok_stream_is_chunked_and_ends_with_done(client: httpx.Client) -> None:
    with client.stream("POST", CHAT, json=body(True), headers=fault("ok", tokens=3)) as resp:
        assert resp.headers["transfer-encoding"] == "chunked"
        assert resp.headers["content-type"] == "text/event-stream"
        data = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    assert contents(data) == ["", "tok0", " tok1", " tok2", None]
    assert "usage" not in json.loads(data[0])  # no include_usage, no usage field


def test_keep_alive_serves_two_answers_on_one_connection(
    upstream: str, client: httpx.Client
) -> None:
    port = port_of(upstream)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        sock.makefile("rb") as reader,
    ):
        for _ in range(2):
            sock.sendall(raw_request(port, "ok"))
            assert reader.readline().startswith(b"HTTP/1.1 200")
            lines = iter(reader.readline, b"\r\n")
            headers = dict(line.decode().strip().split(": ", 1) for line in lines)
            answer = json.loads(reader.read(int(headers["content-length"])))
            assert answer["choices"][0]["message"]["content"] == TEXT
    assert len(client.get("/_log").json()) == 2


def test_429_with_and_without_retry_after(client: httpx.Client) -> None:
    resp = client.post(CHAT, json=body(), headers=fault("429", retry_after=2))
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "2"
    assert resp.json()["error"]["code"] == "rate_limit_exceeded"
    resp = client.post(CHAT, json=body(), headers=fault("429"))
    assert resp.status_code == 429
    assert "retry-after" not in resp.headers


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_have_openai_bodies(client: httpx.Client, status: int) -> None:
    resp = client.post(CHAT, json=body(True), headers=fault(str(status)))
    assert resp.status_code == status
    assert resp.json()["error"]["type"] == "server_error"


@pytest.mark.parametrize(
    ("name", "code", "param"),
    [("context_length", "context_length_exceeded", "messages"),
     ("content_policy", "content_policy_violation", None)],
)  # fmt: skip
def test_bad_requests_reach_the_sdk(
    upstream: str, client: httpx.Client, name: str, code: str, param: str | None
) -> None:
    with sdk_for(upstream) as sdk, pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model="m1", messages=MESSAGES, extra_headers={"x-fault": name})
    assert (caught.value.code, caught.value.param) == (code, param)
    assert caught.value.type == "invalid_request_error"
    assert ("context length" if name == "context_length" else "content policy") in str(caught.value)


def test_reset_sends_no_byte(upstream: str, client: httpx.Client) -> None:
    port = port_of(upstream)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw_request(port, "reset"))
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)
    with pytest.raises(BROKEN):
        client.post(CHAT, json=body(), headers=fault("reset"))
    assert [entry["fault"] for entry in client.get("/_log").json()] == ["reset", "reset"]


def test_silent_close_is_silence_then_a_fin(upstream: str) -> None:
    port = port_of(upstream)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(raw_request(port, '{"name": "silent_close", "delay_s": 0.5}'))
        assert sock.recv(1024) == b""  # an orderly close, not a reset, and not a byte first
        assert time.monotonic() - started >= 0.5


def test_no_answer_hits_the_client_read_timeout(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.post(CHAT, json=body(), headers=fault("no_answer"), timeout=0.5)
    assert client.get("/_log").json()[0]["fault"] == "no_answer"


def test_slow_first_token_streams_the_role_first(client: httpx.Client) -> None:
    start = time.monotonic()
    seen: list[tuple[float, str]] = []
    with client.stream(
        "POST", CHAT, json=body(True), headers=fault("slow_first_token", delay_s=1)
    ) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: "):
                seen.append((time.monotonic() - start, line[6:]))
    (role_at, _), (token_at, token) = seen[:2]
    assert json.loads(token)["choices"][0]["delta"]["content"] == "tok0"
    assert role_at < 1.0 <= token_at + 0.05
    assert seen[-1][1] == "[DONE]"


def test_slow_first_token_delays_a_whole_json_answer(client: httpx.Client) -> None:
    start = time.monotonic()
    resp = client.post(CHAT, json=body(), headers=fault("slow_first_token", delay_s=0.5))
    assert time.monotonic() - start >= 0.45
    assert resp.json()["choices"][0]["message"]["content"] == TEXT


def test_cut_stream_ends_without_done(client: httpx.Client) -> None:
    data, error = read_stream(client, fault("cut", after_tokens=3))
    assert isinstance(error, httpx.RemoteProtocolError)
    assert "[DONE]" not in data
    assert contents(data) == ["", "tok0", " tok1", " tok2"]


def test_cut_json_answer_is_shorter_than_its_length(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CHAT, json=body(), headers=fault("cut"))


def test_stall_times_out_between_chunks(client: httpx.Client) -> None:
    data, error = read_stream(client, fault("stall", after_tokens=2), timeout=0.5)
    assert isinstance(error, httpx.ReadTimeout)
    assert contents(data) == ["", "tok0", " tok1"]


def test_malformed_event_appears_once_in_a_normal_stream(client: httpx.Client) -> None:
    data, error = read_stream(client, fault("malformed", at_token=2))
    assert error is None
    bad = [i for i, item in enumerate(data) if item != "[DONE]" and not is_json(item)]
    assert bad == [3]  # after the role chunk, tok0 and tok1
    assert data[-1] == "[DONE]"
    assert "".join(contents([d for i, d in enumerate(data) if i not in bad])[:-1]) == TEXT


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_no_done_is_complete_but_has_no_done(client: httpx.Client) -> None:
    options = {"stream_options": {"include_usage": True}}
    with client.stream("POST", CHAT, json=body(True, **options), headers=fault("no_done")) as resp:
        assert resp.headers["connection"] == "close"
        data = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    assert "[DONE]" not in data
    assert json.loads(data[-2])["choices"][0]["finish_reason"] == "stop"
    assert json.loads(data[-1])["usage"]["completion_tokens"] == 8


def test_plan_is_consumed_in_order_then_then_applies(client: httpx.Client) -> None:
    set_faults(client, ["500", {"name": "429", "retry_after": 1}, "ok"], then="503")
    statuses = [client.post(CHAT, json=body()).status_code for _ in range(5)]
    assert statuses == [500, 429, 200, 503, 503]
    log = client.get("/_log").json()
    assert [entry["fault"] for entry in log] == ["500", "429", "ok", "503", "503"]
    times = [entry["t"] for entry in log]
    assert times == sorted(times) and len(set(times)) == 5
    assert log[0]["body"]["messages"] == MESSAGES and log[0]["stream"] is False


def test_header_overrides_without_consuming_the_plan(client: httpx.Client) -> None:
    set_faults(client, ["502"])
    assert client.post(CHAT, json=body(), headers=fault("504")).status_code == 504
    assert client.post(CHAT, json=body()).status_code == 502
    assert client.post(CHAT, json=body()).status_code == 200


def test_control_rejects_unknown_faults_and_reset_clears(client: httpx.Client) -> None:
    assert client.post("/_faults", json={"plan": ["teapot"]}).status_code == 400
    assert client.post(CHAT, json=body(), headers=fault("teapot")).status_code == 400
    set_faults(client, ["500"], then="503")
    bad = {"reset": True, "plan": [{"name": "cut", "after_tokens": "x"}]}
    assert client.post("/_faults", json=bad).status_code == 400
    assert client.post(CHAT, json=body()).status_code == 500  # the bad request changed nothing
    client.post("/_faults", json={"reset": True}).raise_for_status()
    assert client.get("/_log").json() == []
    assert client.post(CHAT, json=body()).status_code == 200


def test_down_for_refuses_then_recovers(upstream: str, client: httpx.Client) -> None:
    start = time.monotonic()
    set_faults(client, [], then={"name": "down_for", "seconds": 1})
    with pytest.raises(BROKEN):
        client.post(CHAT, json=body())
    resp = eventually(lambda: client.post(CHAT, json=body()), BROKEN)
    assert resp.status_code == 200
    assert time.monotonic() - start >= 0.95
    faults = [entry["fault"] for entry in client.get("/_log").json()]
    assert faults[-1] == "ok" and set(faults[:-1]) == {"down_for"} and len(faults) >= 2


def test_listen_false_refuses_connections_for_a_while(upstream: str, client: httpx.Client) -> None:
    start = time.monotonic()
    client.post("/_faults", json={"listen": False, "seconds": 1}).raise_for_status()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{upstream}/health", timeout=1)
    eventually(lambda: httpx.get(f"{upstream}/health", timeout=1), (httpx.ConnectError,))
    assert httpx.post(f"{upstream}{CHAT}", json=body(), timeout=2).status_code == 200
    assert time.monotonic() - start >= 0.95


def test_unknown_route_is_404(client: httpx.Client) -> None:
    assert client.get("/v1/nothing").status_code == 404


def test_model_list_with_the_openai_sdk_is_logged_apart_from_chats(
    upstream: str, client: httpx.Client
) -> None:
    assert client.get("/v1/models").json() == MODEL_LIST
    with sdk_for(upstream) as sdk:
        assert [m.id for m in sdk.models.list()] == ["f"]
    client.post(CHAT, json=body())
    log = client.get("/_log").json()
    assert [(e["path"], e["fault"]) for e in log] == [
        ("/v1/models", "ok"), ("/v1/models", "ok"), (CHAT, "ok")
    ]  # fmt: skip
    assert (log[0]["stream"], log[0]["body"]) == (False, None)


def test_models_fault_leaves_chats_alone_and_reset_clears_it(client: httpx.Client) -> None:
    client.post("/_faults", json={"models": "503"}).raise_for_status()
    resp = client.get("/v1/models")
    assert resp.status_code == 503
    assert resp.json()["error"]["type"] == "server_error"
    assert client.post(CHAT, json=body()).status_code == 200
    set_faults(client, ["500"])  # a new chat plan leaves the model-list fault as it was
    assert client.get("/v1/models").status_code == 503
    client.post("/_faults", json={"reset": True}).raise_for_status()
    assert client.get("/v1/models").status_code == 200


def test_models_reset_and_no_answer(client: httpx.Client) -> None:
    client.post("/_faults", json={"models": "reset"}).raise_for_status()
    with pytest.raises(BROKEN):
        client.get("/v1/models")
    client.post("/_faults", json={"models": "no_answer"}).raise_for_status()
    with pytest.raises(httpx.ReadTimeout):
        client.get("/v1/models", timeout=0.5)
    assert client.get("/v1/models", headers={"x-fault": "ok"}).status_code == 200
    faults = [e["fault"] for e in client.get("/_log").json()]
    assert faults == ["reset", "no_answer", "ok"]


def test_models_down_for_recovers(client: httpx.Client) -> None:
    start = time.monotonic()
    client.post("/_faults", json={"models": {"name": "down_for", "seconds": 1}})
    with pytest.raises(BROKEN):
        client.get("/v1/models")
    assert client.post(CHAT, json=body()).status_code == 200
    assert eventually(lambda: client.get("/v1/models"), BROKEN).json() == MODEL_LIST
    assert time.monotonic() - start >= 0.95


@pytest.mark.parametrize(
    "spec", ["cut", "context_length", "teapot", {"name": "down_for", "seconds": "x"}]
)
def test_models_refuses_faults_that_do_not_apply(client: httpx.Client, spec: object) -> None:
    client.post("/_faults", json={"models": "503"}).raise_for_status()
    resp = client.post("/_faults", json={"models": spec, "plan": ["500"]})
    assert resp.status_code == 400
    assert client.get("/v1/models").status_code == 503  # nothing changed
    assert client.post(CHAT, json=body()).status_code == 200
    assert client.get("/v1/models", headers={"x-fault": "stall"}).status_code == 400


def prefilled(prefix: str) -> list[ChatCompletionMessageParam]:
    return [*MESSAGES, {"role": "assistant", "content": prefix}]


def test_prefill_continues_a_stream(client: httpx.Client) -> None:
    options = {"stream_options": {"include_usage": True}}
    request = body(True, messages=prefilled("tok0 tok1 tok2"), **options)
    with client.stream("POST", CHAT, json=request) as resp:
        data = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    assert contents(data) == ["", " tok3", " tok4", " tok5", " tok6", " tok7", None]
    assert "tok0 tok1 tok2" + "".join(contents(data)[:-1]) == TEXT
    assert json.loads(data[-2])["usage"]["completion_tokens"] == 5
    assert client.get("/_log").json()[0]["prefill"] == 3


def test_prefill_continues_a_json_answer(upstream: str, client: httpx.Client) -> None:
    with sdk_for(upstream) as sdk:
        done = sdk.chat.completions.create(model="m1", messages=prefilled("tok0"))
    assert done.choices[0].message.content == " tok1 tok2 tok3 tok4 tok5 tok6 tok7"
    assert done.usage is not None and done.usage.completion_tokens == 7
    assert done.usage.prompt_tokens == 15


def test_prefill_of_nothing_or_everything(client: httpx.Client) -> None:
    whole = client.post(CHAT, json=body(messages=prefilled(""))).json()
    assert whole["choices"][0]["message"]["content"] == TEXT
    empty = client.post(CHAT, json=body(messages=prefilled(TEXT))).json()
    assert empty["choices"][0]["message"]["content"] == ""
    assert empty["usage"]["completion_tokens"] == 0
    assert [e["prefill"] for e in client.get("/_log").json()] == [0, 8]


def test_faults_count_the_continuation(client: httpx.Client) -> None:
    request = body(True, messages=prefilled("tok0 tok1"))
    with client.stream("POST", CHAT, json=request, headers=fault("cut", after_tokens=2)) as resp:
        data: list[str] = []
        with pytest.raises(httpx.RemoteProtocolError):
            data.extend(line[6:] for line in resp.iter_lines() if line.startswith("data: "))
    assert contents(data) == ["", " tok2", " tok3"]
    short = client.post(CHAT, json=body(messages=prefilled("tok0 tok1")), headers=fault("503"))
    assert short.status_code == 503
    assert [e["fault"] for e in client.get("/_log").json()] == ["cut", "503"]


@pytest.mark.parametrize("prefix", ["hello", "tok0 tok2", "tok0 to", "tok0 tok1 ", TEXT + " tok8"])
def test_an_assistant_message_that_is_no_prefix_is_answered_as_usual(
    client: httpx.Client, prefix: str
) -> None:
    done = client.post(CHAT, json=body(messages=prefilled(prefix))).json()
    assert done["choices"][0]["message"]["content"] == TEXT
    assert "prefill" not in client.get("/_log").json()[0]


def test_a_prefill_needs_the_assistant_last_and_as_a_string(client: httpx.Client) -> None:
    messages: list[Any] = [{"role": "assistant", "content": "tok0"}, *MESSAGES]
    assert client.post(CHAT, json=body(messages=messages)).json()["usage"]["completion_tokens"] == 8
    parts = [{"type": "text", "text": "tok0"}]
    messages = [*MESSAGES, {"role": "assistant", "content": parts}]
    assert client.post(CHAT, json=body(messages=messages)).json()["usage"]["completion_tokens"] == 8
    assert all("prefill" not in e for e in client.get("/_log").json())

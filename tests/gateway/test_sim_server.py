"""The standalone simulator server: in process over ASGI, then as a real process under openai."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import openai
import orjson
import pytest
from starlette.applications import Starlette

from keel.config.schema import DeploymentConfig
from keel.gateway.sim_server import create_sim_app
from keel.providers.sim import Slots

ROOT = Path(__file__).resolve().parents[2]
FAST = {"ttft_ms": 0, "tokens_per_s": 1_000_000}


@pytest.fixture
def app() -> Starlette:
    fields = {"name": "sim", "provider": "sim", "model": "sim-llm", "region": "local"}
    return create_sim_app(
        DeploymentConfig.model_validate(fields | {"sim": FAST | {"max_queue": 0}})
    )


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield http


CHAT = {"model": "sim-llm", "messages": [{"role": "user", "content": "Hi there"}]}


# --- in process ---------------------------------------------------------------------------------


async def test_health_and_models(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    models = (await client.get("/v1/models")).json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["sim-llm"]


async def test_bad_json_is_a_400_in_openai_shape(client: httpx2.AsyncClient) -> None:
    for body in (b"{not json", b"[1, 2]"):
        response = await client.post("/v1/chat/completions", content=body)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"


async def test_missing_messages_is_a_400(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", json={"model": "sim-llm"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"


async def test_at_capacity_is_a_503_with_retry_after(
    app: Starlette, client: httpx2.AsyncClient
) -> None:
    slots: Slots = app.state.sim.slots
    for _ in range(slots.capacity):
        await slots.acquire()
    try:
        response = await client.post("/v1/chat/completions", json=CHAT)
    finally:
        for _ in range(slots.capacity):
            slots.release()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "capacity" in response.json()["error"]["message"]


async def test_stream_is_sse_ending_with_done(client: httpx2.AsyncClient) -> None:
    body = CHAT | {"stream": True, "max_tokens": 3}
    response = await client.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = response.content.split(b"\n\n")
    assert frames[-1] == b"" and frames[-2] == b"data: [DONE]"
    assert all(frame.startswith(b"data: ") for frame in frames[:-1])
    chunks = [orjson.loads(frame[6:]) for frame in frames[:-2]]
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "length"


async def test_completions_and_embeddings_routes(client: httpx2.AsyncClient) -> None:
    text = await client.post("/v1/completions", json={"model": "m", "prompt": "Once"})
    assert text.json()["object"] == "text_completion"
    vectors = await client.post("/v1/embeddings", json={"model": "m", "input": "x"})
    assert len(vectors.json()["data"][0]["embedding"]) == 64


# --- a real process -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert process.poll() is None, "the simulator exited at start"
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the simulator did not become healthy in 15 s")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    code = (
        "from keel.config.schema import SimConfig\n"
        "from keel.gateway.sim_server import run_sim_server\n"
        f"run_sim_server('127.0.0.1', {port}, SimConfig(ttft_ms=0, tokens_per_s=100000))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield f"{base}/v1"
    finally:
        process.kill()
        process.communicate(timeout=10)


def test_openai_sdk_chat(server: str) -> None:
    with openai.OpenAI(base_url=server, api_key="x") as sdk:
        answer = sdk.chat.completions.create(
            model="sim-llm", messages=[{"role": "user", "content": "Hello, world!"}], max_tokens=4
        )
    assert answer.model == "sim-llm"
    assert answer.choices[0].finish_reason == "length"
    assert answer.choices[0].message.content
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (4, 4)


def test_openai_sdk_stream_with_usage(server: str) -> None:
    with openai.OpenAI(base_url=server, api_key="x") as sdk:
        chunks = list(
            sdk.chat.completions.create(
                model="sim-llm",
                messages=[{"role": "user", "content": "Tell me a story"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = chunks[-1].usage
    assert usage is not None and chunks[-1].choices == []
    assert usage.completion_tokens == len(text.split())
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_openai_sdk_embeddings(server: str) -> None:
    with openai.OpenAI(base_url=server, api_key="x") as sdk:
        packed = sdk.embeddings.create(model="sim-llm", input=["a", "b"])  # base64 on the wire
        plain = sdk.embeddings.create(model="sim-llm", input=["a", "b"], encoding_format="float")
    assert [d.embedding for d in packed.data] == [d.embedding for d in plain.data]
    assert len(plain.data[0].embedding) == 64
    assert plain.usage.prompt_tokens == 2

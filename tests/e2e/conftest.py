from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.procs import free_port, run_keel, run_process

KEY = "sk-test-alpha"
OTHER_KEY = "sk-test-beta"


@pytest.fixture(scope="module")
def sim_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, "-m", "keel", "sim", "--port", str(port), "--ttft-ms", "5",
            "--tokens-per-s", "2000", "--model", "sim-remote"]  # fmt: skip
    log = tmp_path_factory.mktemp("sim") / "sim.log"
    with run_process(args, f"http://127.0.0.1:{port}/health", log):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def recorder_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    script = str(Path(__file__).with_name("recorder.py"))
    log = tmp_path_factory.mktemp("recorder") / "recorder.log"
    with run_process([sys.executable, script, str(port)], f"http://127.0.0.1:{port}/health", log):
        yield f"http://127.0.0.1:{port}"


def gateway_config(sim_url: str, recorder_url: str) -> dict[str, Any]:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    return {
        "server": {"host": "127.0.0.1", "key_cache_s": 0.2},
        "regions": {"eu": {}, "us": {}},
        "deployments": [
            {
                "name": "sim-http",
                "provider": "openai",
                "base_url": sim_url,
                "model": "sim-remote",
                "region": "eu",
                "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
            },
            {
                "name": "recorder",
                "provider": "openai",
                "base_url": recorder_url + "/v1",
                "model": "upstream-model",
                "region": "us",
                "api_key": "${RECORDER_KEY}",
            },
            {
                "name": "embed",
                "provider": "local-embeddings",
                "model": "all-MiniLM-L6-v2",
                "region": "eu",
            },
            {
                "name": "down",
                "provider": "openai",
                "base_url": dead,
                "model": "x",
                "region": "us",
                "timeouts": {"connect_s": 1},
            },
        ],
        "models": {
            "chat": ["sim-http"],
            "echo": ["recorder"],
            "embed": ["embed"],
            "broken": ["down"],
        },
        "teams": {
            "alpha": {"models": ["*"], "api_keys": [KEY]},
            "beta": {"models": ["chat"], "api_keys": [OTHER_KEY]},
        },
    }


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, sim_url: str, recorder_url: str
) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("keel")
    config = gateway_config(sim_url, recorder_url)
    with run_keel(tmp, config, env={"RECORDER_KEY": "sk-upstream-secret"}) as (url, _, path):
        yield url, path


def plan(faults: str, *steps: Any, then: Any = "ok") -> None:
    httpx.post(faults + "/_faults", json={"reset": True}).raise_for_status()
    httpx.post(faults + "/_faults", json={"plan": list(steps), "then": then}).raise_for_status()


def seen(faults: str) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = httpx.get(faults + "/_log").json()
    return log


def fault_config(faults: str, key: str, **flaky: Any) -> dict[str, Any]:
    """keel with ``flaky`` (the fault upstream, settings from ``flaky``) and ``backup`` (a sim):
    the model ``solo`` is ``[flaky]``, ``duo`` is ``[flaky, backup]``."""
    timeouts = {"first_byte_s": 0.5, "first_token_s": 1, "between_chunks_s": 0.5}
    settings = {"retries": 0, "timeouts": timeouts, **flaky}
    return {
        "server": {"access_log": False},
        "regions": {"local": {}},
        "deployments": [
            {"name": "flaky", "provider": "openai", "base_url": faults + "/v1", "model": "f",
             "region": "local", **settings},
            {"name": "backup", "provider": "sim", "model": "sim", "region": "local",
             "sim": {"ttft_ms": 0, "tokens_per_s": 10000}},
        ],
        "models": {"solo": ["flaky"], "duo": ["flaky", "backup"]},
        "teams": {"t": {"api_keys": [key]}},
    }  # fmt: skip


def record(path: Path, request_id: str) -> dict[str, Any]:
    """The usage record of one request, from the store of the keel whose config is ``path``."""
    with sqlite3.connect(path.parent / "keel.db") as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM usage WHERE request_id = ?", (request_id,)).fetchone()
    assert row is not None, f"no usage record for {request_id}"
    return dict(row)


def attempts(path: Path, request_id: str) -> list[tuple[str, str | None]]:
    """(deployment, error) of every upstream attempt the request's record lists."""
    tries = orjson.loads(record(path, request_id)["attempts"])
    return [(a["deployment"], a["error"]) for a in tries]


def sse(url: str, key: str, model: str, **extra: Any) -> tuple[str, list[Any]]:
    """Stream a chat answer as raw SSE: the request id and every ``data:`` event the client
    got (``[DONE]`` as the string), so a test sees exactly how the stream ended."""
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "s"}],
            **extra}  # fmt: skip
    headers = {"authorization": f"Bearer {key}"}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, headers=headers,
                      timeout=10) as response:  # fmt: skip
        assert response.status_code == 200
        lines = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
        request_id = response.headers["x-request-id"]
    return request_id, [e if e == "[DONE]" else orjson.loads(e) for e in lines]


def text(events: list[Any]) -> str:
    """The answer's text, put together from a stream's events."""
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict) and e.get("choices")
    )

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


def attempts(path: Path, request_id: str) -> list[dict[str, Any]]:
    """The ``attempts`` of one request's usage record, in the store next to keel.yaml at path."""
    with sqlite3.connect(path.parent / "keel.db") as conn:
        (raw,) = conn.execute(
            "SELECT attempts FROM usage WHERE request_id = ?", (request_id,)
        ).fetchone()
    result: list[dict[str, Any]] = orjson.loads(raw)
    return result


def fault_config(faults: str, key: str, **flaky: Any) -> dict[str, Any]:
    """keel with ``flaky`` (the fault upstream, settings from ``flaky``) and ``backup`` (a sim):
    the model ``solo`` is ``[flaky]``, ``duo`` is ``[flaky, backup]``."""
    settings = {"retries": 0, "timeouts": {"first_byte_s": 0.5}, **flaky}
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

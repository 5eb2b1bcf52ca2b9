"""Rollouts on a running ``keel up``, driven with the real openai SDK and ``keel rollout``."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import openai
import orjson
import pytest

from tests.e2e.procs import keel_cli, run_keel

T = TypeVar("T")
KEY = "sk-rollouts"
SIM = {"ttft_ms": 0, "tokens_per_s": 10000, "output_tokens": 2}
CONFIG: dict[str, Any] = {
    "server": {"access_log": False, "rollout_refresh_s": 0.2},
    "regions": {"r": {}},
    "deployments": [
        {"name": n, "provider": "sim", "model": n, "region": "r", "sim": SIM} for n in ("v1", "v2")
    ],
    "models": {
        "chat": {"deployments": ["v1", "v2"],  # judged elsewhere: here only the split counts
                 "rollout": {"mode": "canary", "canary": "v2", "percent": 20,
                             "auto_rollback": {"enabled": False}}},
        "ops": ["v1", "v2"],
    },
    "teams": {"t": {"api_keys": [KEY]}},
}  # fmt: skip


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Path]]:
    with run_keel(tmp_path_factory.mktemp("rollouts"), CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def client(gateway: tuple[str, Any, Path]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway[0] + "/v1", api_key=KEY, max_retries=0) as c:
        yield c


def deployment(client: openai.OpenAI, model: str, user: str) -> str:
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hi"}], user=user, max_tokens=2
    )
    raw.parse()
    return raw.headers["x-keel-deployment"]


def eventually(probe: Callable[[], T | None], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while (value := probe()) is None:
        assert time.monotonic() < deadline, f"nothing happened within {timeout}s"
        time.sleep(0.05)
    return value


def rollout(config: Path, *args: str) -> str:
    return keel_cli("rollout", *args, "--config", str(config)).stdout


def test_a_20_percent_canary_gets_about_20_percent_and_users_stay_put(
    client: openai.OpenAI,
) -> None:
    users = [f"user-{i}" for i in range(500)]
    with ThreadPoolExecutor(4) as pool:
        first = dict(
            zip(users, pool.map(lambda u: deployment(client, "chat", u), users), strict=True)
        )
    shares = Counter(first.values())
    assert set(shares) == {"v1", "v2"}
    assert 70 <= shares["v2"] <= 130, shares  # 20% of 500, give or take 3 sigma
    for user in users[:40]:
        assert deployment(client, "chat", user) == first[user], f"{user} moved"


def test_set_rollback_promote_change_a_running_gateway_and_are_recorded(
    gateway: tuple[str, Any, Path], client: openai.OpenAI
) -> None:
    _, proc, config = gateway
    users = [f"ops-{i}" for i in range(20)]

    def all_on(name: str) -> bool | None:
        return all(deployment(client, "ops", u) == name for u in users) or None

    assert all_on("v1")  # priority order: no rollout yet
    out = rollout(config, "set", "ops", "--canary", "v2", "--percent", "100", "--reason", "try v2")
    assert "canary v2 at 100%" in out
    eventually(lambda: all_on("v2"))
    rollout(config, "rollback", "ops", "--reason", "v2 too chatty")
    eventually(lambda: all_on("v1"))
    rollout(config, "promote", "ops")
    eventually(lambda: all_on("v2"))
    assert proc.poll() is None  # the same process all along: no restart

    (report,) = orjson.loads(rollout(config, "status", "ops", "--format", "json"))
    assert (report["source"], report["split"]["status"], report["split"]["version"]) == (
        "store", "promoted", 3,
    )  # fmt: skip
    events = report["events"]
    assert [e["action"] for e in events] == ["set", "rollback", "promote"]
    assert [e["reason"] for e in events] == ["try v2", "v2 too chatty", ""]
    assert all(e["actor"].startswith("cli:") for e in events)
    stats = {d["deployment"]: d for d in report["deployments"]}
    assert stats["v2"]["attempts"] > 0 and stats["v2"]["errors"] == 0

"""A canary that fails is rolled back by the gateway itself, recorded once, and left alone.

``keel up --workers 2``: two processes judge the canary each on its own traffic; whichever
decides first writes the rollback, the other follows the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.e2e.conftest import plan, seen
from tests.e2e.procs import keel_cli, run_keel

KEY = "sk-auto-rollback"


def config(faults: str) -> dict[str, Any]:
    return {
        "server": {"access_log": False, "rollout_refresh_s": 0.2},
        "regions": {"r": {}},
        "deployments": [
            {"name": "base", "provider": "sim", "model": "sim", "region": "r",
             "sim": {"ttft_ms": 0, "tokens_per_s": 10000, "output_tokens": 2}},
            {"name": "flaky", "provider": "openai", "base_url": faults + "/v1", "model": "f",
             "region": "r", "retries": 0, "breaker": {"enabled": False}},
        ],
        "models": {
            "auto": {"deployments": ["base", "flaky"],
                     "rollout": {"mode": "canary", "canary": "flaky", "percent": 50,
                                 "auto_rollback": {"min_requests": 5}}},
        },
        "teams": {"t": {"api_keys": [KEY]}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, faults: str) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("auto")
    with run_keel(tmp, config(faults), None, "--workers", "2") as (url, _, path):
        yield url, path


def status(path: Path) -> dict[str, Any]:
    out = keel_cli("rollout", "status", "auto", "--format", "json", "--config", str(path)).stdout
    report: dict[str, Any] = orjson.loads(out)[0]
    return report


def test_a_failing_canary_is_rolled_back_and_later_traffic_avoids_it(
    gateway: tuple[str, Path], faults: str
) -> None:
    url, path = gateway
    plan(faults, then="500")
    with openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client:

        def ask(user: str) -> str:
            raw = client.chat.completions.with_raw_response.create(
                model="auto", messages=[{"role": "user", "content": "hi"}], user=user
            )
            raw.parse()  # every answer is a success: the baseline takes over from the canary
            return raw.headers["x-keel-deployment"]

        deadline = time.monotonic() + 20
        i = 0
        while status(path)["split"]["status"] != "rolled_back":
            assert time.monotonic() < deadline, "the failing canary was never rolled back"
            for _ in range(10):
                assert ask(f"user-{i}") == "base"
                i += 1
        report = status(path)
        assert report["split"]["percent"] == 0.0
        (event,) = report["events"]  # two workers judged; exactly one wrote
        assert (event["action"], event["actor"]) == ("auto_rollback", "keel:auto")
        assert "error rate 100.0% on the canary" in event["reason"]
        assert "0.0% on the baseline" in event["reason"]

        # Both workers follow (the one that did not decide on its next refresh): then new
        # callers all go to the baseline first, and the canary sees nothing more.
        for attempt in range(50):
            asked = len(seen(faults))
            assert all(ask(f"later-{attempt}-{j}") == "base" for j in range(30))
            if len(seen(faults)) == asked:
                break
        else:
            raise AssertionError("the canary kept getting traffic after its rollback")

    metrics = httpx.get(url + "/metrics").text
    line = next(m for m in metrics.splitlines() if m.startswith("keel_rollout_rollbacks_total{"))
    assert 'model="auto"' in line and float(line.rsplit(" ", 1)[1]) >= 1.0
    log = (path.parent / "keel.log").read_text()
    assert "rolled back the canary of auto" in log
    assert "usage commit failed" not in log  # the rollback write never locked out usage records
    plan(faults, then="ok")

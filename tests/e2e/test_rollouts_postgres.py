"""Two gateways sharing one PostgreSQL store: one ``keel rollout set`` moves both."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import openai

from tests.e2e.procs import keel_cli, run_keel
from tests.store.conftest import fresh_pg_database

KEY = "sk-pg-rollouts"
SIM = {"ttft_ms": 0, "tokens_per_s": 10000, "output_tokens": 2}


def config(store_url: str) -> dict[str, Any]:
    return {
        "server": {"access_log": False, "rollout_refresh_s": 0.2},
        "store": {"url": store_url},
        "regions": {"r": {}},
        "deployments": [
            {"name": n, "provider": "sim", "model": n, "region": "r", "sim": SIM}
            for n in ("v1", "v2")
        ],
        "models": {"chat": ["v1", "v2"]},
        "teams": {"t": {"api_keys": [KEY]}},
    }


def firsts(url: str) -> set[str]:
    with openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0) as client:
        out = set()
        for i in range(10):
            raw = client.chat.completions.with_raw_response.create(
                model="chat", messages=[{"role": "user", "content": "hi"}], user=f"u{i}"
            )
            out.add(raw.headers["x-keel-deployment"])
        return out


async def test_a_rollout_set_on_one_store_reaches_every_replica(tmp_path: Path) -> None:
    async with fresh_pg_database() as url:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with contextlib.ExitStack() as stack:
            replicas = [stack.enter_context(run_keel(tmp_path / n, config(url))) for n in "ab"]
            assert all(firsts(base) == {"v1"} for base, _, _ in replicas)
            keel_cli("rollout", "set", "chat", "--canary", "v2", "--percent", "100",
                     "--config", str(replicas[0][2]))  # fmt: skip
            deadline = time.monotonic() + 10
            while not all(firsts(base) == {"v2"} for base, _, _ in replicas):
                assert time.monotonic() < deadline, "a replica never took the new split"
                await asyncio.sleep(0.1)

"""A weighted model splits real traffic by its weights."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx

from tests.e2e.procs import run_keel, sim_config

KEY = "sk-strategy"


def test_weighted_split(tmp_path: Path) -> None:
    config = sim_config(KEY)
    second = {**config["deployments"][0], "name": "s2"}
    config["deployments"].append(second)
    config["models"] = {"m": {"deployments": ["s", "s2"], "strategy": "weighted",
                              "weights": {"s": 3, "s2": 1}}}  # fmt: skip
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with (
        run_keel(tmp_path, config) as (url, _, _),
        httpx.Client(headers={"authorization": f"Bearer {KEY}"}) as http,
    ):
        served = Counter(
            http.post(url + "/v1/chat/completions", json=body).headers["x-keel-deployment"]
            for _ in range(400)
        )
    assert set(served) == {"s", "s2"}
    assert 0.65 < served["s"] / 400 < 0.85  # 3:1, with room for chance

"""Predictions under budgets and rate limits, end to end: a model registered with
``keel models`` and priced per prediction and per row, served by a real keel. A team's hard
budget of a few predictions' price refuses the next one with 429 and retry-after as an OIP
error; an rpm limit on a predictive model refuses the request past it; every prediction,
admitted or refused, is recorded with its cost, and ``keel report costs`` counts it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.procs import keel_cli, run_keel, sim_config
from tests.registry.conftest import fitted, models_dir

__all__ = ["fitted", "models_dir"]  # the registry's model fixtures

KEY, CAPPED, LIMITED = "sk-oip-any", "sk-oip-capped", "sk-oip-limited"
# Two rows: 0.01 + 2 * 0.001 = $0.012 a prediction; the budget holds three of them.
PRICE = {"price_per_prediction": 0.01, "price_per_row": 0.001}


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("oip-budgets")
    config = sim_config(KEY)
    config["teams"]["capped"] = {"api_keys": [CAPPED]}
    config["teams"]["limited"] = {"api_keys": [LIMITED]}
    config["predictive"] = {"models": {"clf": PRICE, "lim": PRICE}}
    budget = {"name": "capped-month", "scope": "team", "match": "capped", "limit_usd": 0.04}
    config["budgets"] = [budget]
    config["rate_limits"] = [{"name": "lim-rpm", "scope": "model", "match": "lim", "rpm": 2}]
    with run_keel(tmp, config) as (url, _, path):
        for name in ("clf", "lim"):
            keel_cli(
                "models", "register", name, str(models_dir / "model.onnx"), "--config", str(path)
            )
        yield url, tmp / "keel.db"


def body(n: int = 2) -> dict[str, object]:
    tensor = {"name": "X", "datatype": "FP32", "shape": [n, 30], "data": [0.0] * (30 * n)}
    return {"inputs": [tensor]}


def recorded(db: Path, answers: list[httpx.Response]) -> list[tuple[int, float]]:
    """The status and cost of each answer's usage record, in the answers' order."""
    ids = [a.headers["x-request-id"] for a in answers]
    with sqlite3.connect(db) as conn:
        marks = ",".join("?" * len(ids))
        query = f"SELECT request_id, status, cost_usd FROM usage WHERE request_id IN ({marks})"
        found = {r: (s, c) for r, s, c in conn.execute(query, ids).fetchall()}
    return [found[i] for i in ids]


def cost_groups(db: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """``keel report costs`` of this month, by team and model."""
    month = datetime.now(UTC).strftime("%Y-%m")
    config = str(db.parent / "keel.yaml")
    args = ("--period", month, "--by", "team,model", "--format", "json", "--config", config)
    report = orjson.loads(keel_cli("report", "costs", *args).stdout)
    return {(g["team"], g["model"]): g for g in report["groups"]}


def test_a_hard_budget_refuses_the_prediction_past_it_and_records_each(
    keel: tuple[str, Path],
) -> None:
    url, db = keel
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {CAPPED}"}) as http:
        answers = [http.post("/v2/models/clf/infer", json=body()) for _ in range(4)]
    admitted, refused = answers[:3], answers[3]
    for answer in admitted:
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-keel-cost-usd"] == "0.01200000"
        assert answer.headers["x-keel-deployment"] == "clf:1"
    assert admitted[-1].headers["x-keel-budget-remaining-usd"] == "0.004000"
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    error = refused.json()["error"]
    assert isinstance(error, str) and "'capped-month'" in error and "fewer rows" in error
    assert "$0.0360 spent" in error and "could cost up to $0.012000" in error
    assert refused.headers["x-keel-cost-usd"] == "0.00000000"
    statuses = [status for status, _ in recorded(db, answers)]
    costs = [cost for _, cost in recorded(db, answers)]
    assert statuses == [200, 200, 200, 429]
    assert costs == pytest.approx([0.012, 0.012, 0.012, 0.0])
    # keel report costs counts them, and the budget's use.
    capped = cost_groups(db)[("capped", "clf")]
    assert capped["requests"] == 4 and capped["cost_usd"] == pytest.approx(0.036)
    assert capped["budgets"][0]["used_pct"] == pytest.approx(90.0)


def test_another_team_is_not_held_by_that_budget(keel: tuple[str, Path]) -> None:
    url, _ = keel
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {KEY}"}) as http:
        answer = http.post("/v2/models/clf/infer", json=body(5))
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-keel-cost-usd"] == "0.01500000"
    assert "x-keel-budget-remaining-usd" not in answer.headers


def test_an_rpm_limit_refuses_the_prediction_past_it(keel: tuple[str, Path]) -> None:
    url, db = keel
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {LIMITED}"}) as http:
        answers = [http.post("/v2/models/lim/infer", json=body(50)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["x-ratelimit-remaining-requests"] == "1"
    refused = answers[2]
    assert int(refused.headers["retry-after"]) > 0
    assert "Rate limit 'lim-rpm' reached" in refused.json()["error"]
    # 0.01 + 50 * 0.001 each: rows count in the price, not in the rpm window.
    assert recorded(db, answers) == [(200, pytest.approx(0.06))] * 2 + [(429, 0.0)]

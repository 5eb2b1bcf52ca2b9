"""Rollouts of a registered predictive model on a running ``keel up``, driven with ``keel models``:
a canary sticky by API key, promote and roll back under concurrent load with no failed request,
a shadow recorded apart with its agreement counted, and a second keel on the same store
following an alias move. Waits poll with generous deadlines; nothing asserts a timing."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.e2e.procs import keel_cli, run_keel, sim_config
from tests.registry.conftest import fitted, models_dir

__all__ = ["fitted", "models_dir"]  # the registry's model fixtures

T = TypeVar("T")
KEYS = [f"sk-rollout-{i}" for i in range(200)]
DEADLINE_S = 30.0
BODY = {"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 30], "data": [0.0] * 30}]}


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("model-rollouts")
    config = sim_config(KEYS[0])
    config["teams"]["t"]["api_keys"] = KEYS
    with run_keel(tmp, config) as (url, _, path):
        for _ in range(2):
            models(path, "register", "clf", str(models_dir / "model.onnx"))
        models(path, "alias", "clf", "champion", "1")
        models(path, "alias", "clf", "challenger", "2")
        yield url, path


def models(config: Path, *args: str) -> str:
    return keel_cli("models", *args, "--config", str(config)).stdout


def predict(url: str, key: str, model: str = "clf") -> httpx.Response:
    auth = {"authorization": f"Bearer {key}"}
    return httpx.post(f"{url}/v2/models/{model}/infer", json=BODY, headers=auth, timeout=60)


def version(url: str, key: str) -> str:
    answer = predict(url, key)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["model_version"])


def taken(url: str, keys: list[str], wanted: str) -> bool | None:
    """True once one of the keys is answered by version ``wanted`` (None: not yet)."""
    return True if any(version(url, key) == wanted for key in keys) else None


def eventually(probe: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + DEADLINE_S
    while (value := probe()) is None:
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE_S}s"
        time.sleep(0.05)
    return value


def recorded(db: Path, request_ids: list[str], kind: str = "call") -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        marks = ",".join("?" * len(request_ids))
        query = (
            f"SELECT request_id, deployment FROM usage WHERE kind = ? AND request_id IN ({marks})"
        )
        return dict(conn.execute(query, [kind, *request_ids]).fetchall())


def test_a_canary_sticky_by_key_gets_about_its_percent(keel: tuple[str, Path]) -> None:
    url, config = keel
    out = models(config, "rollout", "clf", "--canary", "challenger", "--percent", "25")
    assert "canary challenger at 25%" in out and "sticky by key" in out
    eventually(lambda: taken(url, KEYS[:40], "2"), "the canary takes callers")
    first = {key: version(url, key) for key in KEYS}
    shares = Counter(first.values())
    assert 25 <= shares["2"] <= 75, shares  # 25% of 200, give or take 3 sigma
    assert all(version(url, key) == first[key] for key in KEYS[:60])  # each key stays put
    # A request naming an alias or a version skips the split.
    assert predict(url, KEYS[0], "clf@champion").json()["model_version"] == "1"
    show = models(config, "show", "clf")
    assert '"summary": "canary challenger at 25%' in show


async def test_promote_then_rollback_under_load_fails_no_request(
    keel: tuple[str, Path],
) -> None:
    url, config = keel
    answers: list[httpx.Response] = []
    stop = asyncio.Event()

    async def client(http: httpx.AsyncClient, key: str) -> None:
        while not stop.is_set():
            auth = {"authorization": f"Bearer {key}"}
            answers.append(await http.post("/v2/models/clf/infer", json=BODY, headers=auth))

    def serving(wanted: str) -> bool | None:
        recent = answers[-16:]
        ok = len(recent) == 16 and all(a.json().get("model_version") == wanted for a in recent)
        return True if ok else None

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        clients = [asyncio.create_task(client(http, key)) for key in KEYS[:8]]
        try:
            await asyncio.to_thread(models, config, "promote", "clf", "--why", "better recall")
            await asyncio.to_thread(eventually, lambda: serving("2"), "the promotion is served")
            await asyncio.to_thread(models, config, "rollback", "clf", "--why", "alerts")
            await asyncio.to_thread(eventually, lambda: serving("1"), "the rollback is served")
        finally:
            stop.set()
            await asyncio.gather(*clients)
    assert answers and all(a.status_code == 200 for a in answers), Counter(
        a.status_code for a in answers
    )
    ids = [a.headers["x-request-id"] for a in answers]
    rows = recorded(config.parent / "keel.db", ids)
    assert rows == {a.headers["x-request-id"]: a.headers["x-keel-deployment"] for a in answers}
    assert {a.headers["x-keel-deployment"]: a.json()["model_version"] for a in answers} == {
        "clf:1": "1",
        "clf:2": "2",
    }


def test_a_shadow_is_recorded_apart_and_its_agreement_counted(keel: tuple[str, Path]) -> None:
    url, config = keel
    models(config, "rollout", "clf", "--shadow", "challenger")

    def shadowed() -> list[str] | None:
        answer = predict(url, KEYS[1])
        assert answer.status_code == 200
        ids = [answer.headers["x-request-id"]]
        return ids if recorded(config.parent / "keel.db", ids, "shadow") else None

    ids = eventually(shadowed, "a shadow copy is recorded")
    assert recorded(config.parent / "keel.db", ids, "shadow") == {ids[0]: "clf:2"}
    assert recorded(config.parent / "keel.db", ids) == {ids[0]: "clf:1"}
    metrics = httpx.get(f"{url}/metrics").text
    assert 'keel_shadow_agreement_total{champion="1",model="clf",outcome="same",shadow="2"}' in (
        metrics
    )
    models(config, "rollout", "clf", "--off")


def test_a_second_keel_on_the_same_store_follows_an_alias_move(
    keel: tuple[str, Path], tmp_path: Path
) -> None:
    url, config = keel
    db = config.parent / "keel.db"
    second_config: dict[str, Any] = sim_config(KEYS[0])
    second_config["teams"]["t"]["api_keys"] = KEYS
    second_config["store"] = {"url": f"sqlite:///{db}"}
    with run_keel(tmp_path, second_config) as (second, _, _):
        for gateway in (url, second):
            assert version(gateway, KEYS[3]) == "1"
        models(config, "alias", "clf", "champion", "2", "--why", "both follow")
        for gateway in (url, second):
            eventually(lambda g=gateway: taken(g, KEYS[3:4], "2"), f"{gateway} follows the move")
        models(config, "alias", "clf", "champion", "1")

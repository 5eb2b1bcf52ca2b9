"""Quality per version on a running ``keel up``: predictions logged off the hot path, labels sent
to ``POST /v2/models/clf/feedback`` joined to them, ``keel_quality`` on /metrics, ``keel quality
report``, and a canary whose labels say it is worse rolled back on its own (an
``auto_rollback`` event naming quality), after which its callers get the champion. Waits poll
with generous deadlines; nothing asserts a timing."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from tests.e2e.procs import keel_cli, run_keel, sim_config
from tests.registry.conftest import fitted, models_dir

__all__ = ["fitted", "models_dir"]  # the registry's model fixtures

T = TypeVar("T")
KEYS = [f"sk-quality-{i}" for i in range(120)]
DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("quality")
    config = sim_config(KEYS[0])
    config["teams"]["t"]["api_keys"] = KEYS
    config["monitors"] = {"quality": {"check_s": 1, "min_labels": 10}}
    config["predictive"] = {
        "refresh_s": 0.5,
        "models": {"clf": {"auto_rollback": {"min_labels": 20, "alpha": 0.01}}},
    }
    with run_keel(tmp, config) as (url, _, path):
        for _ in range(2):
            models(path, "register", "clf", str(models_dir / "model.onnx"))
        models(path, "alias", "clf", "champion", "1")
        models(path, "alias", "clf", "challenger", "2")
        yield url, path


def models(config: Path, *args: str) -> str:
    return keel_cli("models", *args, "--config", str(config)).stdout


def predict(url: str, key: str, row: list[float]) -> httpx.Response:
    body = {"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 30], "data": row}]}
    auth = {"authorization": f"Bearer {key}"}
    answer = httpx.post(f"{url}/v2/models/clf/infer", json=body, headers=auth, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer


def predicted(answer: httpx.Response) -> int:
    outputs = {o["name"]: o["data"] for o in answer.json()["outputs"]}
    return int(outputs["label"][0])


def eventually(probe: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + DEADLINE_S
    while (value := probe()) is None:
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE_S}s"
        time.sleep(0.2)
    return value


def rollout(db: Path) -> tuple[str, float]:
    with sqlite3.connect(db) as conn:
        (status, percent), = conn.execute(
            "SELECT status, percent FROM rollouts WHERE model = 'predictive:clf'"
        ).fetchall()  # fmt: skip
    return str(status), float(percent)


def test_a_canary_worse_on_its_labels_is_rolled_back(
    keel: tuple[str, Path], fitted: tuple[Any, Any]
) -> None:
    url, config = keel
    db = config.parent / "keel.db"
    _, data = fitted
    models(config, "rollout", "clf", "--canary", "challenger", "--percent", "50")
    time.sleep(1.5)  # the split reaches the gateway within predictive.refresh_s
    answered: dict[str, tuple[str, str, int]] = {}  # key: (request id, version, predicted)
    for i, key in enumerate(KEYS):
        answer = predict(url, key, [float(x) for x in data.data[i]])
        answered[key] = (answer.headers["x-request-id"], answer.json()["model_version"],
                         predicted(answer))  # fmt: skip
    versions = [v for _, v, _ in answered.values()]
    assert versions.count("1") >= 20 and versions.count("2") >= 20, versions
    # The champion's answers labelled as right, the canary's as wrong.
    labels = [
        {"request_id": rid, "label": guess if version == "1" else 1 - guess, "row": 0}
        for rid, version, guess in answered.values()
    ]
    sent = httpx.post(f"{url}/v2/models/clf/feedback", json={"labels": labels},
                      headers={"authorization": f"Bearer {KEYS[0]}"}, timeout=60)  # fmt: skip
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"recorded": len(labels), "model": "clf", "rejected": []}

    eventually(lambda: True if rollout(db)[0] == "rolled_back" else None, "the rollback")
    with sqlite3.connect(db) as conn:
        action, actor, reason = conn.execute(
            "SELECT action, actor, reason FROM rollout_events WHERE model = 'predictive:clf' "
            "ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert (action, actor) == ("auto_rollback", "keel:auto")
    assert reason.startswith("quality: labelled accuracy 0.0% on canary challenger (version 2")
    assert "100.0% on champion (version 1" in reason

    canary_keys = [k for k, (_, v, _) in answered.items() if v == "2"]

    def on_champion() -> bool | None:
        row = [float(x) for x in data.data[0]]
        back = all(predict(url, k, row).json()["model_version"] == "1" for k in canary_keys[:5])
        return True if back else None

    eventually(on_champion, "the canary's callers back on the champion")

    def gauges() -> str | None:
        text = httpx.get(f"{url}/metrics", timeout=30).text
        wanted = 'keel_quality{metric="accuracy",model="clf",version="2"} 0.0'
        return text if wanted in text else None

    text = eventually(gauges, "the quality gauges")
    assert 'keel_quality{metric="accuracy",model="clf",version="1"} 1.0' in text
    assert 'keel_quality_labels_total{model="clf",source="api",version="1"}' in text

    report = orjson.loads(keel_cli("quality", "report", "clf", "--json", "--config",
                                   str(config)).stdout)  # fmt: skip
    by_version = {r["version"]: r for r in report["versions"] if r["kind"] == "call"}
    assert by_version[1]["accuracy"] == 1.0 and by_version[2]["accuracy"] == 0.0
    assert by_version[1]["labels"] + by_version[2]["labels"] == len(KEYS)

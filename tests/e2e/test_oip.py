"""Predictive models on the Open Inference Protocol v2, end to end: a model registered with
``keel models``, served by a real keel, asked by the unchanged ``tritonclient.http`` (JSON and
binary tensors) and by plain httpx; answers equal onnxruntime's own; refusals are clear
``{"error": ...}`` answers; every prediction's usage record names the version that answered."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import orjson
import pytest
import tritonclient.http as triton

from tests.e2e.procs import keel_cli, run_keel, sim_config
from tests.registry.conftest import fitted, models_dir

__all__ = ["fitted", "models_dir"]  # the registry's model fixtures

KEY, NARROW = "sk-oip", "sk-oip-narrow"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("oip")
    config = sim_config(KEY)
    config["teams"]["narrow"] = {"api_keys": [NARROW], "models": ["m"]}
    # clf is batched: every test of it goes through the batcher.
    # A generous bound: 64 clients queue up to 8 runs, on a machine that may be busy.
    config["predictive"] = {"models": {"clf": {"max_batch_size": 16, "max_wait_ms": 250}}}
    with run_keel(tmp, config) as (url, _, path):
        c = ("--config", str(path))
        keel_cli("models", "register", "clf", str(models_dir / "model.onnx"), *c)
        keel_cli("models", "register", "clf", str(models_dir / "model.onnx"), *c)
        keel_cli("models", "alias", "clf", "champion", "1", "--why", "first", *c)
        yield url, tmp / "keel.db"


def rows(models_dir: Path, n: int = 4) -> np.ndarray[Any, Any]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer().data[:n].astype(np.float32)


def direct(models_dir: Path, x: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
    session = ort.InferenceSession(str(models_dir / "model.onnx"))
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {"X": x}), strict=True))


def client(url: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url.removeprefix("http://"))


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_gets_what_onnxruntime_computes(
    keel: tuple[str, Path], models_dir: Path, binary: bool
) -> None:
    url, _ = keel
    x = rows(models_dir)
    tensor = triton.InferInput("X", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    outputs = [
        triton.InferRequestedOutput(n, binary_data=binary) for n in ("label", "probabilities")
    ]
    answer = client(url).infer("clf", [tensor], outputs=outputs,
                               headers={"authorization": f"Bearer {KEY}"})  # fmt: skip
    expected = direct(models_dir, x)
    assert np.array_equal(answer.as_numpy("label"), expected["label"])
    assert np.allclose(answer.as_numpy("probabilities"), expected["probabilities"])
    assert answer.get_response()["model_version"] == "1"  # the champion


def test_versions_and_aliases_resolve(keel: tuple[str, Path], models_dir: Path) -> None:
    url, _ = keel
    x = rows(models_dir, 1)
    body = {"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 30],
                        "data": x.ravel().tolist()}]}  # fmt: skip
    auth = {"authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=url, headers=auth) as http:
        v2 = http.post("/v2/models/clf/versions/2/infer", json=body)
        champion = http.post("/v2/models/clf@champion/infer", json=body)
        meta = http.get("/v2/models/clf").json()
        ready = http.get("/v2/models/clf/versions/2/ready")
    assert v2.status_code == 200 and v2.json()["model_version"] == "2"
    assert v2.headers["x-keel-deployment"] == "clf:2"
    assert champion.json()["model_version"] == "1"
    assert meta["versions"] == ["1", "2"] and meta["platform"] == "onnxruntime_onnx"
    assert meta["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 30]}]
    assert ready.status_code == 200 and ready.json()["ready"] is True


def test_refusals_are_clear_and_recorded(keel: tuple[str, Path], models_dir: Path) -> None:
    url, db = keel
    auth = {"authorization": f"Bearer {KEY}"}
    good = {"name": "X", "datatype": "FP32", "shape": [1, 30], "data": [0.0] * 30}
    with httpx.Client(base_url=url) as http:
        wrong_name = http.post("/v2/models/clf/infer", headers=auth,
                               json={"inputs": [{**good, "name": "x"}]})  # fmt: skip
        wrong_type = http.post("/v2/models/clf/infer", headers=auth,
                               json={"inputs": [{**good, "datatype": "FP64"}]})  # fmt: skip
        unknown = http.post("/v2/models/nope/infer", headers=auth, json={"inputs": [good]})
        narrow = http.post("/v2/models/clf/infer", json={"inputs": [good]},
                           headers={"authorization": f"Bearer {NARROW}"})  # fmt: skip
        anonymous = http.post("/v2/models/clf/infer", json={"inputs": [good]})
    assert wrong_name.status_code == 400 and "'x'" in wrong_name.json()["error"]
    assert wrong_type.status_code == 400 and "FP32" in wrong_type.json()["error"]
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]
    assert narrow.status_code == 403 and "may not use the model 'clf'" in narrow.json()["error"]
    assert anonymous.status_code == 401
    answers = [wrong_name, wrong_type, unknown, narrow, anonymous]
    ids = [a.headers["x-request-id"] for a in answers]
    with sqlite3.connect(db) as conn:
        marks = ",".join("?" * len(ids))
        query = f"SELECT request_id, status FROM usage WHERE request_id IN ({marks})"
        found = dict(conn.execute(query, ids).fetchall())
    assert found == {i: a.status_code for i, a in zip(ids, answers, strict=True)}


def test_every_prediction_is_recorded_with_its_version(keel: tuple[str, Path]) -> None:
    _, db = keel
    with sqlite3.connect(db) as conn:
        query = "SELECT endpoint, model, deployment FROM usage WHERE status = 200"
        served = [row for row in conn.execute(query).fetchall() if row[0] == "infer"]
    assert served and all(d in ("clf:1", "clf:2") for _, _, d in served)
    keel_verify = keel_cli("audit", "verify", "--config", str(db.parent / "keel.yaml"),
                           check=False)  # fmt: skip
    assert "BAD" not in keel_verify.stdout


def test_a_damaged_artifact_is_refused_and_the_loaded_ones_keep_serving(
    keel: tuple[str, Path], models_dir: Path
) -> None:
    url, db = keel
    c = ("--config", str(db.parent / "keel.yaml"))
    keel_cli("models", "register", "other", str(models_dir / "mlflow-onnx"), *c)
    sha = orjson.loads(keel_cli("models", "show", "other", *c).stdout)["sha256"]
    model = db.parent / "artifacts" / sha[:2] / sha / "model.onnx"
    model.write_bytes(model.read_bytes()[:-10])  # cut, as a failed copy would leave it
    good = {"name": "X", "datatype": "FP32", "shape": [1, 30], "data": [0.0] * 30}
    auth = {"authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=url, headers=auth) as http:
        damaged = http.post("/v2/models/other/infer", json={"inputs": [good]})
        still = http.post("/v2/models/clf/infer", json={"inputs": [good]})
    assert damaged.status_code == 503
    assert "does not match its registered SHA-256" in damaged.json()["error"]
    assert still.status_code == 200
    with sqlite3.connect(db) as conn:
        (status,) = conn.execute(
            "SELECT status FROM usage WHERE request_id = ?", (damaged.headers["x-request-id"],)
        ).fetchone()
    assert status == 503


def test_a_pickle_is_never_served(keel: tuple[str, Path], models_dir: Path) -> None:
    url, db = keel
    c = ("--config", str(db.parent / "keel.yaml"))
    keel_cli("models", "register", "pickled", str(models_dir / "model.pkl"), "--trusted", *c)
    good = {"name": "input", "datatype": "FP64", "shape": [1, 30], "data": [0.0] * 30}
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {KEY}"}) as http:
        refused = http.post("/v2/models/pickled/infer", json={"inputs": [good]})
    assert refused.status_code == 503
    assert "loading a pickle runs its code" in refused.json()["error"]


async def test_64_concurrent_clients_each_get_their_own_answer(
    keel: tuple[str, Path], models_dir: Path
) -> None:
    url, _ = keel
    data = rows(models_dir, 128)
    sizes = [1 + i % 3 for i in range(64)]
    starts = [sum(sizes[:i]) for i in range(64)]
    auth = {"authorization": f"Bearer {KEY}"}

    async def one(http: httpx.AsyncClient, start: int, size: int) -> Any:
        x = data[start : start + size]
        body = {"inputs": [{"name": "X", "datatype": "FP32", "shape": list(x.shape),
                            "data": x.ravel().tolist()}]}  # fmt: skip
        return await http.post("/v2/models/clf/versions/1/infer", json=body)

    async with httpx.AsyncClient(base_url=url, headers=auth, timeout=60) as http:
        before = batched_rows(await http.get("/metrics"))
        answers = await asyncio.gather(
            *(one(http, a, n) for a, n in zip(starts, sizes, strict=True))
        )
        after = batched_rows(await http.get("/metrics"))
    for answer, start, size in zip(answers, starts, sizes, strict=True):
        assert answer.status_code == 200, answer.text
        expected = direct(models_dir, data[start : start + size])
        (label,) = [o for o in answer.json()["outputs"] if o["name"] == "label"]
        assert label["data"] == expected["label"].tolist()
    assert after - before == sum(sizes)  # every row went through the batcher


def batched_rows(metrics: httpx.Response) -> float:
    total = 0.0
    for line in metrics.text.splitlines():
        if line.startswith('keel_batch_size_sum{model="clf"}'):
            total += float(line.split()[-1])
    return total

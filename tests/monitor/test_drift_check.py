"""The drift check on live windows: sampled rows in the store against the reference
registered with the version; gauges, findings, and keel drift report; on both backends."""

from __future__ import annotations

import asyncio
import csv
import time
from pathlib import Path

import numpy as np
import orjson
import yaml
from typer.testing import CliRunner

from keel.call import Call
from keel.cli import app
from keel.config.monitors import DriftMonitorConfig
from keel.monitor.drift import Reference
from keel.monitor.drift_check import DriftCheck, window_columns
from keel.monitor.drift_windows import RowSampler
from keel.monitor.findings import Finding
from keel.monitor.metrics import Metrics
from keel.registry.training import training_stats
from keel.runtime import Prediction
from keel.store import opened_store
from keel.store.base import Store
from keel.store.drift import DriftRow
from keel.store.models import ModelVersion

NOW = time.time()
FEATURES = ["amount", "age", "visits"]
CONFIG = DriftMonitorConfig(min_rows=100, rows_per_minute=10_000)


def _training(tmp_path: Path, rng: np.random.Generator) -> dict[str, object]:
    path = tmp_path / "train.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(FEATURES)
        for _ in range(3000):
            out.writerow([rng.normal(100, 15), rng.normal(40, 10), rng.poisson(3)])
    return training_stats(path)


def _window(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    amount = rng.normal(100 + shift * 15, 15, n)
    return np.stack([amount, rng.normal(40, 10, n), rng.poisson(3, n)], axis=1).astype(np.float32)


async def _register(store: Store, tmp_path: Path, rng: np.random.Generator) -> None:
    training = _training(tmp_path, rng)
    record = ModelVersion("fraud", "0" * 64, "onnx", {}, "t", NOW, training=training)
    await store.add_model_version(record)


async def _sample(store: Store, rows: np.ndarray, version: int = 1) -> None:
    sampler = RowSampler(CONFIG, store)
    for i in range(0, len(rows), 50):
        call = Call(id=f"r{i}", endpoint="infer", body={}, model="fraud", stream=False)
        call.started_at, call.started, call.finished = NOW - 600 + i * 0.1, 0.0, 0.001
        call.deployment = f"fraud:{version}"
        call.prediction = Prediction({"X": rows[i : i + 50]}, None, version)
        sampler.read(call)
    await sampler.close()


async def _check(store: Store) -> tuple[Metrics, list[Finding]]:
    found: list[Finding] = []

    async def report(finding: Finding) -> None:
        found.append(finding)

    metrics = Metrics()
    await DriftCheck(CONFIG, store, metrics, report).check_all(NOW)
    return metrics, found


async def test_a_shifted_feature_is_found_and_named(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    await _register(store, tmp_path, rng)
    await _sample(store, _window(rng, 2000, shift=0.5))
    metrics, (finding,) = await _check(store)
    assert finding.kind == "drift" and finding.subject == "fraud:1" and finding.active
    assert "amount (score" in finding.message and "keel drift report fraud:1" in finding.message
    assert set(finding.details) == {"amount"}
    sample = metrics.registry.get_sample_value
    assert sample("keel_drift_detected", {"model": "fraud", "version": "1"}) == 1
    amount = sample("keel_drift_score", {"model": "fraud", "version": "1", "feature": "amount"})
    assert amount is not None and amount > 2


async def test_a_window_like_the_training_data_is_quiet(store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    await _register(store, tmp_path, rng)
    await _sample(store, _window(rng, 2000))
    metrics, (finding,) = await _check(store)
    assert not finding.active and "no feature drifted" in finding.message
    assert metrics.registry.get_sample_value(
        "keel_drift_detected", {"model": "fraud", "version": "1"}
    ) == 0  # fmt: skip


async def test_too_few_rows_and_no_reference_give_no_finding(store: Store) -> None:
    rng = np.random.default_rng(9)
    await store.add_model_version(ModelVersion("fraud", "0" * 64, "onnx", {}, "t", NOW))
    await _sample(store, _window(rng, 500))  # a reference is missing: logged, not checked
    _, found = await _check(store)
    assert found == []


def test_live_columns_are_matched_by_name_or_by_position() -> None:
    reference = Reference.from_columns({"a": [1.0, 2.0], "b": ["x", "y"]})
    wide = [DriftRow("m", 1, 1.0, "X:2", orjson.dumps([3.0, "x"]).decode())]
    assert window_columns(wide, reference) == {"a": [3.0], "b": ["x"]}
    named = [DriftRow("m", 1, 1.0, "a:1,z:1", orjson.dumps([3.0, 9]).decode())]
    assert window_columns(named, reference) == {"a": [3.0]}


def test_keel_drift_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    store_url = f"sqlite:///{tmp_path / 'keel.db'}"

    async def fill() -> None:
        async with opened_store(store_url) as store:
            await _register(store, tmp_path, rng)
            await _sample(store, _window(rng, 1000, shift=0.5))

    asyncio.run(fill())
    path = tmp_path / "keel.yaml"
    path.write_text(yaml.safe_dump({"store": {"url": store_url},
                                    "monitors": {"drift": {"min_rows": 100}}}))  # fmt: skip
    result = CliRunner().invoke(app, ["drift", "report", "fraud:1", "--config", str(path)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fraud:1: DRIFT over 1000 rows")
    assert lines[2].startswith("amount") and " drift " in lines[2]
    args = ["drift", "report", "fraud:1", "--window", "200", "--format", "json"]
    result = CliRunner().invoke(app, [*args, "--config", str(path)])
    body = orjson.loads(result.stdout)
    assert body["rows"] == 200 and body["dataset_drift"] is True
    assert set(body["columns"]) == set(FEATURES) and body["correction"] == "holm"
    result = CliRunner().invoke(app, ["drift", "report", "nosuch:1", "--config", str(path)])
    assert result.exit_code != 0 and "nosuch" in result.stderr

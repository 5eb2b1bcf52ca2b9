"""Live input windows: rows sampled per version and minute, stored in time order, forgotten
after keep_s; on both store backends."""

from __future__ import annotations

import numpy as np
import orjson

from keel.call import Call
from keel.config.monitors import DriftMonitorConfig
from keel.monitor.drift_windows import RowSampler, columns_of, layout_of
from keel.runtime import Prediction
from keel.store.base import Store

T0 = 1_800_000_000.0  # a minute boundary (divisible by 60)


def _call(at: float, inputs: dict[str, np.ndarray], version: int = 3, status: int = 200) -> Call:
    call = Call(id="r", endpoint="infer", body={}, model="fraud@champion", stream=False)
    call.started_at, call.started, call.finished = at, 0.0, 0.001
    call.deployment = f"fraud:{version}"
    call.status = status
    call.prediction = Prediction(inputs, None, version)
    return call


def test_layouts_and_their_columns() -> None:
    wide = {"X": np.zeros((4, 3), np.float32)}
    assert layout_of(wide) == "X:3" and columns_of("X:3") == ["X[0]", "X[1]", "X[2]"]
    named = {"city": np.array([b"a", b"b"]), "age": np.array([[1], [2]])}
    assert layout_of(named) == "age:1,city:1" and columns_of("age:1,city:1") == ["age", "city"]
    assert layout_of({"img": np.zeros((2, 4, 4))}) is None
    assert layout_of({"a": np.zeros(2), "b": np.zeros(3)}) is None


async def test_rows_are_sampled_per_minute_and_stored_in_time_order(store: Store) -> None:
    sampler = RowSampler(DriftMonitorConfig(rows_per_minute=50), store)
    x = np.arange(200 * 2, dtype=np.float32).reshape(200, 2) / 10
    sampler.read(_call(T0 + 1, {"X": x}))  # 200 rows in one call: 50 kept
    sampler.read(_call(T0 + 2, {"X": x[:3]}, status=400))  # refused: not counted
    sampler.read(_call(T0 + 61, {"X": x[:5]}))  # the next minute: all 5 kept
    await sampler.tick(T0 + 61)  # writes the first minute only
    window = await store.drift_window("fraud", 3, since=T0, limit=1000)
    assert len(window) == 50 and {r.layout for r in window} == {"X:2"}
    first = orjson.loads(window[0].data)
    assert len(first) == 2 and all(round(v * 10) == v * 10 for v in first)  # 0.1, not 0.10000001
    await sampler.close()
    window = await store.drift_window("fraud", 3, since=T0, limit=1000)
    assert len(window) == 55
    assert [r.ts for r in window] == sorted(r.ts for r in window)
    latest = await store.drift_window("fraud", 3, since=T0, limit=5)
    assert {r.ts for r in latest} == {T0 + 61.001}
    assert await store.drift_versions(T0) == [("fraud", 3)]
    assert await store.delete_drift_rows(T0 + 30) == 50
    assert len(await store.drift_window("fraud", 3, since=0, limit=1000)) == 5


async def test_strings_and_non_finite_numbers_are_kept_as_json(store: Store) -> None:
    sampler = RowSampler(DriftMonitorConfig(), store)
    inputs = {"city": np.array([b"Oslo", b"Bergen"], dtype=object),
              "amount": np.array([1.5, np.nan])}  # fmt: skip
    sampler.read(_call(T0, inputs))
    await sampler.close()
    rows = await store.drift_window("fraud", 3, since=0, limit=10)
    assert [orjson.loads(r.data) for r in rows] == [[1.5, "Oslo"], [None, "Bergen"]]

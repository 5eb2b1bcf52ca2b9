"""The prediction log: answered rows in, batched rows stored off the hot path, drops counted
when the store lags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from keel.call import Call
from keel.config.monitors import QualityMonitorConfig
from keel.monitor.metrics import Metrics
from keel.monitor.predictions import PredictionLog, prediction_rows
from keel.monitor.tap import Tap
from keel.runtime import Prediction
from keel.store.quality import PredictionRow


class Rows:
    """A store's prediction family alone: what was written, or a store that is down."""

    def __init__(self) -> None:
        self.rows: list[PredictionRow] = []
        self.down = False

    async def add_predictions(self, rows: Sequence[PredictionRow]) -> None:
        if self.down:
            raise ConnectionError("database is down")
        self.rows.extend(rows)

    async def delete_predictions(self, before: float) -> int:
        return 0


def answered(tensors: dict[str, npt.NDArray[Any]], rid: str = "r1", **kw: Any) -> Call:
    call = Call(id=rid, endpoint="infer", body={}, model="clf", stream=False)
    call.prediction = Prediction({"X": np.zeros((1, 2))}, answered=tensors)
    call.deployment = "clf:2"
    for name, value in kw.items():
        setattr(call, name, value)
    return call


CLASSIFIED = {"label": np.array([1, 0]), "probabilities": np.array([[0.2, 0.8], [0.7, 0.3]])}


def log(store: Rows, **settings: Any) -> tuple[Metrics, PredictionLog]:
    metrics = Metrics()
    return metrics, PredictionLog(store, metrics, QualityMonitorConfig(**settings))  # type: ignore[arg-type]


async def test_a_classifiers_rows_are_written_on_tick_not_on_read() -> None:
    store = Rows()
    _, monitor = log(store)
    tap = Tap([monitor], 10, Metrics())
    tap.offer(answered(CLASSIFIED))
    tap.drain()
    assert store.rows == []  # read keeps a reference; nothing written yet
    await tap.tick(0.0)
    assert [(r.request_id, r.model, r.version, r.row, r.label) for r in store.rows] == [
        ("r1", "clf", 2, 0, "1"),
        ("r1", "clf", 2, 1, "0"),
    ]
    assert store.rows[0].score == pytest.approx(0.8)
    assert store.rows[1].probabilities == (0.7, 0.3)


async def test_failed_calls_and_other_endpoints_are_not_logged() -> None:
    store = Rows()
    _, monitor = log(store)
    monitor.read(answered(CLASSIFIED, status=503))
    monitor.read(answered(CLASSIFIED, endpoint="chat"))
    chat = answered(CLASSIFIED)
    chat.prediction = None
    monitor.read(chat)
    await monitor.tick(0.0)
    assert store.rows == []


async def test_a_lagging_store_keeps_rows_then_drops_and_counts_calls() -> None:
    store = Rows()
    store.down = True
    metrics, monitor = log(store, max_pending_rows=100)
    for i in range(60):
        monitor.read(answered(CLASSIFIED, rid=f"r{i}"))  # 2 rows each
    await monitor.tick(0.0)  # the write fails: the rows are kept
    monitor.read(answered(CLASSIFIED, rid="late"))
    dropped = metrics.registry.get_sample_value(
        "keel_monitor_dropped_total", {"monitor": "predictions"}
    )
    assert dropped == 11  # 50 calls held (100 rows), 10 more and the late one dropped
    store.down = False
    await monitor.tick(1.0)
    assert len(store.rows) == 100 and len({r.request_id for r in store.rows}) == 50


def test_rows_beyond_the_limit_are_not_logged() -> None:
    tensors = {"label": np.arange(10)}
    rows = prediction_rows("r", "call", "m", 1, 0.0, tensors, 3)
    assert [(r.row, r.label, r.probabilities) for r in rows] == [
        (0, "0", None),
        (1, "1", None),
        (2, "2", None),
    ]


def test_a_score_matrix_without_names_is_labelled_by_its_argmax() -> None:
    rows = prediction_rows("r", "call", "m", 1, 0.0, {"out": np.array([[0.1, 0.9, 0.0]])}, 10)
    assert (rows[0].label, rows[0].score, rows[0].probabilities) == ("1", 0.9, (0.1, 0.9, 0.0))


def test_a_regression_is_logged_as_scores() -> None:
    rows = prediction_rows("r", "call", "m", 1, 0.0, {"y": np.array([[1.5], [2.5]])}, 10)
    assert [(r.label, r.score) for r in rows] == [(None, 1.5), (None, 2.5)]


def test_string_labels_stay_text() -> None:
    tensors = {"label": np.array(["benign", "malignant"], dtype=object)}
    rows = prediction_rows("r", "shadow", "m", 1, 0.0, tensors, 10)
    assert [(r.kind, r.label) for r in rows] == [("shadow", "benign"), ("shadow", "malignant")]

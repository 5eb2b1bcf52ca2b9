"""The prediction log: what each predictive call answered, row by row, kept in the store for
the labels that come later (keel.store.quality).

``read`` (on the event loop) keeps a reference to the call's output tensors and nothing else;
``tick`` turns them into rows (the predicted label and, for a classifier, the top probability
and the class probabilities) and writes them in one transaction. Held rows are capped
(``monitors.quality.max_pending_rows``): while the store lags, calls beyond the cap are dropped
and counted (``keel_monitor_dropped{monitor="predictions"}``), and a failed write is kept and
tried again. A call's rows beyond ``max_rows_per_call`` are not logged. No inputs are kept.

Which output is what: ``label`` is the predicted label and ``probabilities`` the class
probabilities (keel's scikit-learn sessions and skl2onnx exports with ``zipmap=False``); a model
with neither is logged by its first output: a float matrix of several columns as class scores
(its argmax the label), anything else as one score per row.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.call import Call
from keel.config.monitors import QualityMonitorConfig
from keel.monitor.metrics import Metrics
from keel.store.quality import PredictionRow, QualityStore, label_text

__all__ = ["PredictionLog", "prediction_rows"]

log = logging.getLogger("keel.monitor")

Tensors = dict[str, npt.NDArray[Any]]
PRUNE_S = 3600.0  # how often old rows are deleted
WRITE_ROWS = 5000  # rows per transaction


@dataclass(frozen=True, slots=True)
class _Held:
    request_id: str
    kind: str
    model: str
    version: int
    ts: float
    tensors: Tensors
    rows: int


class PredictionLog:
    name = "predictions"

    def __init__(self, store: QualityStore, metrics: Metrics, settings: QualityMonitorConfig):
        self.store = store
        self.metrics = metrics
        self.settings = settings
        self.held: deque[_Held] = deque()
        self.held_rows = 0
        self.written: list[PredictionRow] = []  # made, not yet stored (a write failed)
        self._pruned = 0.0

    def read(self, call: Call) -> None:
        prediction = call.prediction
        if call.endpoint != "infer" or prediction is None or prediction.answered is None:
            return
        if call.status >= 400 or call.deployment is None:
            return
        model, _, version = call.deployment.rpartition(":")
        if not version.isdigit():
            return
        rows = min(_rows(prediction.answered), self.settings.max_rows_per_call)
        if self.held_rows + len(self.written) + rows > self.settings.max_pending_rows:
            self.metrics.monitor_dropped.labels(self.name).inc()
            return
        self.held.append(_Held(call.id, call.kind, model, int(version), call.started_at,
                               prediction.answered, rows))  # fmt: skip
        self.held_rows += rows

    async def tick(self, now: float) -> None:
        await self.flush()
        if now - self._pruned >= PRUNE_S:
            self._pruned = now
            deleted = await self.store.delete_predictions(now - self.settings.keep_s)
            if deleted:
                log.info("prediction log: deleted %d rows older than %gs", deleted,
                         self.settings.keep_s)  # fmt: skip

    async def flush(self) -> None:
        """Turn what was read into rows and store them; kept for the next tick on failure."""
        while self.held:
            held = self.held.popleft()
            self.held_rows -= held.rows
            self.written.extend(prediction_rows(
                held.request_id, held.kind, held.model, held.version, held.ts, held.tensors,
                held.rows,
            ))  # fmt: skip
        while self.written:
            batch = self.written[:WRITE_ROWS]
            try:
                await self.store.add_predictions(batch)
            except Exception as exc:
                log.warning("prediction log: %d rows not written, retrying: %s", len(batch), exc)
                return
            del self.written[: len(batch)]

    async def close(self) -> None:
        started = time.monotonic()
        await self.flush()
        if self.written:
            log.warning("prediction log: %d rows lost at shutdown (%.1fs)", len(self.written),
                        time.monotonic() - started)  # fmt: skip


def _rows(tensors: Tensors) -> int:
    first = next(iter(tensors.values()), None)
    tensor = tensors.get("label", tensors.get("probabilities", first))
    if tensor is None:
        return 0
    return 1 if tensor.ndim == 0 else int(tensor.shape[0])


def prediction_rows(
    request_id: str,
    kind: str,
    model: str,
    version: int,
    ts: float,
    tensors: Tensors,
    limit: int,
) -> list[PredictionRow]:
    """One ``PredictionRow`` per row of the answer, at most ``limit``."""
    labels, probs, scores = _columns(tensors, limit)
    count = max(len(labels), len(probs), len(scores))
    rows: list[PredictionRow] = []
    for i in range(count):
        row_probs = tuple(probs[i]) if i < len(probs) else None
        label = labels[i] if i < len(labels) else None
        score = max(row_probs) if row_probs else scores[i] if i < len(scores) else None
        rows.append(PredictionRow(request_id, kind, model, version, ts, i, label, score,
                                  row_probs))  # fmt: skip
    return rows


def _columns(
    tensors: Tensors, limit: int
) -> tuple[list[str | None], list[list[float]], list[float | None]]:
    """(labels as text, probability rows, scores): the outputs that say each."""
    label, probs = tensors.get("label"), tensors.get("probabilities")
    if label is None and probs is None:
        first = next(iter(tensors.values()), None)
        if first is None:
            return [], [], []
        if first.dtype.kind == "f" and first.ndim == 2 and first.shape[1] > 1:
            probs = first  # class scores: the label is the argmax column
            label = np.asarray(first[:limit].argmax(axis=1))
        else:
            flat = first.reshape(first.shape[0] if first.ndim else 1, -1)[:limit, 0]
            scores = [float(v) if flat.dtype.kind in "fiub" else None for v in flat.tolist()]
            texts = [] if flat.dtype.kind == "f" else [label_text(v) for v in flat.tolist()]
            return texts, [], scores
    texts = [] if label is None else [label_text(v) for v in _first_column(label, limit)]
    if probs is None:
        return texts, [], []
    matrix = np.asarray(probs[:limit], dtype=np.float64).reshape(-1, probs.shape[-1])
    return texts, [list(r) for r in matrix.tolist()], []


def _first_column(tensor: npt.NDArray[Any], limit: int) -> list[Any]:
    if tensor.ndim == 0:
        return [tensor.item()]
    return list(tensor.reshape(tensor.shape[0], -1)[:limit, 0].tolist())

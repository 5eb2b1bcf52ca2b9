"""Live input windows of predictive model versions, kept in the store (keel.store.drift).

``read`` samples the rows of each finished prediction: per model version and minute, a
uniform sample (a reservoir) of at most ``rows_per_minute`` rows, so a burst of traffic costs
a bounded number of rows and a quiet minute keeps every one. Each minute's sample goes to the
store once the minute is over (in time order), and rows older than ``keep_s`` are deleted.
Only successful calls count: a refused input is not what the model sees. A row is held as
views of the request's input tensors until its minute is written; no other field of the call
is kept.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from keel.call import Call
from keel.config.monitors import DriftMonitorConfig
from keel.store.drift import DriftRow, DriftStore

__all__ = ["RowSampler", "columns_of", "layout_of"]

log = logging.getLogger("keel.monitor")

_KEEP_CHECK_S = 3600.0  # how often old rows are deleted


@dataclass(slots=True)
class _Minute:
    layout: str
    seen: int = 0
    rows: list[tuple[float, list[npt.NDArray[Any]]]] = field(default_factory=list)


def layout_of(inputs: dict[str, npt.NDArray[Any]]) -> str | None:
    """The inputs' names and row widths in name order ("X:30"); None if they are not rows
    of scalars (an image, a sequence) or do not share their first dimension."""
    parts, rows = [], None
    for name in sorted(inputs):
        array = inputs[name]
        if array.ndim == 0 or array.ndim > 2:
            return None
        if rows is None:
            rows = array.shape[0]
        elif array.shape[0] != rows:
            return None
        parts.append(f"{name}:{1 if array.ndim == 1 else array.shape[1]}")
    return ",".join(parts) if parts else None


def columns_of(layout: str) -> list[str]:
    """A layout's column names: ``X[0]``… for a wide input, its name for a one-wide one."""
    names = []
    for part in layout.split(","):
        name, _, width = part.rpartition(":")
        count = int(width)
        names.extend([name] if count == 1 else [f"{name}[{j}]" for j in range(count)])
    return names


class RowSampler:
    name = "drift_rows"

    def __init__(self, config: DriftMonitorConfig, store: DriftStore) -> None:
        self.config = config
        self.store = store
        self.minutes: dict[tuple[str, int, int], _Minute] = {}  # (model, version, minute)
        self.random = random.Random()
        self._last_cleanup = 0.0
        self.dropped = 0

    def read(self, call: Call) -> None:
        prediction = call.prediction
        if prediction is None or prediction.version is None or call.kind != "call":
            return
        if call.status >= 400:
            return
        inputs = prediction.inputs
        layout = layout_of(inputs)
        if layout is None:
            return
        ts = call.started_at + call.elapsed_s()
        model = (call.deployment or "").rpartition(":")[0] or call.model  # "name:version"
        key = (model, prediction.version, int(ts // 60))
        minute = self.minutes.get(key)
        if minute is None or minute.layout != layout:
            minute = self.minutes[key] = _Minute(layout)
        arrays = [inputs[name] for name in sorted(inputs)]
        cap = self.config.rows_per_minute
        for index in range(arrays[0].shape[0]):
            minute.seen += 1
            if len(minute.rows) < cap:
                minute.rows.append((ts, [a[index] for a in arrays]))
            else:
                slot = self.random.randrange(minute.seen)
                if slot < cap:
                    minute.rows[slot] = (ts, [a[index] for a in arrays])

    async def tick(self, now: float) -> None:
        await self.flush(int(now // 60))
        if now - self._last_cleanup >= _KEEP_CHECK_S:
            self._last_cleanup = now
            await self.store.delete_drift_rows(now - self.config.keep_s)

    async def close(self) -> None:
        await self.flush(None)

    async def flush(self, before_minute: int | None) -> None:
        """Write every minute's sample that is over (all of them with None)."""
        done = [k for k in self.minutes if before_minute is None or k[2] < before_minute]
        rows: list[DriftRow] = []
        for key in done:
            minute = self.minutes.pop(key)
            rows.extend(_rows(key[0], key[1], minute))
        if not rows:
            return
        try:
            await self.store.add_drift_rows(rows)
        except Exception as exc:
            self.dropped += len(rows)
            log.warning("drift: %d sampled rows not stored (%s); they are lost", len(rows), exc)


def _rows(model: str, version: int, minute: _Minute) -> list[DriftRow]:
    rows = sorted(minute.rows, key=lambda row: row[0])
    return [DriftRow(model, version, ts, minute.layout, _encode(values)) for ts, values in rows]


def _encode(values: list[npt.NDArray[Any]]) -> str:
    flat: list[Any] = []
    for value in values:
        items = np.atleast_1d(value)
        if items.dtype == np.float32:  # as written (0.1), not as widened (0.10000000149)
            flat.extend(float(str(v)) if np.isfinite(v) else None for v in items)
        else:
            flat.extend(_plain(v) for v in items.tolist())
    return orjson.dumps(flat).decode()


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

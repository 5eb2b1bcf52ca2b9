"""``detect``: a window of live inputs against a version's reference, feature by feature.

Each feature gets one p-value from a few one-degree-of-freedom tests, combined by a
weighted Bonferroni (``min p_j / w_j``: valid whatever their dependence, and the main test
keeps most of the alpha, so the small location shift the goal names loses little power):

- numeric: ``location`` (normal-scores rank test, weight 0.85), ``scale`` (absolute normal
  scores, 0.05), ``recent`` (the location of the window's last quarter of rows against all
  else, reference and earlier rows, 0.05: a gradual ramp shows there first), ``missing``
  (the missing-value rate, exact, 0.05);
- categorical: ``mix`` (per-level exact tests, see ``levels``; 0.95), ``recent`` (the
  same on the last quarter against the reference, 0.05).

Across the features, Holm's step-down correction holds the family-wise error rate (any
feature falsely flagged) at ``alpha`` under any dependence between features. A feature
drifts when its Holm-adjusted p-value is below ``alpha``; the dataset drifts when any
feature does; the score is ``-log10`` of the adjusted p-value (``keel_drift_score``), so 0
is "no evidence", ``-log10(alpha)`` (1.3 at 0.05) the line, and scores compare across
features and windows. ``parts`` keeps each test's own unadjusted score, for a reader who
wants to know whether location, scale, the recent part or missing values moved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keel.monitor.drift.levels import log_p_count, log_p_levels
from keel.monitor.drift.ranks import Floats, log_two_sided, rank_z
from keel.monitor.drift.reference import (
    Categorical,
    ColumnValues,
    Numeric,
    Reference,
    as_numbers,
    as_strings,
)

__all__ = ["DriftReport", "FeatureDrift", "detect"]

NUMERIC_WEIGHTS = {"location": 0.85, "scale": 0.05, "recent": 0.05, "missing": 0.05}
CATEGORICAL_WEIGHTS = {"mix": 0.95, "recent": 0.05}
RECENT_SHARE = 4  # the recent part is the window's last 1/4 of rows
_LN10 = math.log(10.0)


@dataclass(frozen=True)
class FeatureDrift:
    drift: bool
    score: float  # -log10 of the Holm-adjusted p-value
    method: str  # "numeric", "categorical", or "absent" (not in the window: all missing)
    p_value: float  # Holm-adjusted
    n: int  # the window's rows
    parts: dict[str, float] = field(default_factory=dict)  # each test's unadjusted score

    def as_dict(self, detail: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"drift": self.drift, "score": self.score, "method": self.method}
        if detail:
            body |= {"p_value": self.p_value, "n": self.n, "parts": self.parts}
        return body


@dataclass(frozen=True)
class DriftReport:
    columns: dict[str, FeatureDrift]
    dataset_drift: bool
    alpha: float
    correction: str = "holm"

    def as_dict(self, detail: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "columns": {name: f.as_dict(detail) for name, f in self.columns.items()},
            "dataset_drift": self.dataset_drift,
        }
        if detail:
            body |= {"alpha": self.alpha, "correction": self.correction}
        return body


def detect(
    reference: Reference, current: Mapping[str, ColumnValues], alpha: float = 0.05
) -> DriftReport:
    """Compare the window ``current`` (columns in time order; names the reference lacks
    are ignored, a reference feature the window lacks counts as all missing) with the
    reference."""
    rows = max((len(v) for v in current.values()), default=0)
    names = list(reference.columns)
    tested: list[tuple[float, dict[str, float], str]] = []
    for name in names:
        column = reference.columns[name]
        values = current.get(name)
        method = "absent" if values is None else _kind(column)
        if isinstance(column, Numeric):
            logp, parts = _numeric(column, _window_numbers(values, rows))
        else:
            logp, parts = _categorical(column, _window_strings(values, rows))
        tested.append((logp, parts, method))
    adjusted = _holm([t[0] for t in tested])
    columns = {}
    for name, (_, parts, method), log_adj in zip(names, tested, adjusted, strict=True):
        score = _score(log_adj)
        columns[name] = FeatureDrift(
            drift=log_adj < math.log(alpha),
            score=score,
            method=method,
            p_value=math.exp(log_adj),
            n=rows,
            parts=parts,
        )
    return DriftReport(columns, any(f.drift for f in columns.values()), alpha)


def _kind(column: Numeric | Categorical) -> str:
    return "numeric" if isinstance(column, Numeric) else "categorical"


def _window_numbers(values: ColumnValues | None, rows: int) -> Floats:
    return np.full(rows, np.nan) if values is None else as_numbers(values)


def _window_strings(values: ColumnValues | None, rows: int) -> ColumnValues:
    return [""] * rows if values is None else values


def _numeric(column: Numeric, window: Floats) -> tuple[float, dict[str, float]]:
    present = ~np.isnan(window)
    values = window[present]
    # The recent part: the present values among the window's last quarter of rows.
    tail = (
        window[window.size - window.size // RECENT_SHARE :]
        if window.size >= RECENT_SHARE
        else window[:0]
    )
    recent_n = int((~np.isnan(tail)).sum())
    location, scale, recent = rank_z(column.values, values, recent_n)
    missing = int(window.size - values.size)
    logs = {
        "location": log_two_sided(location),
        "scale": log_two_sided(scale),
        "recent": log_two_sided(recent),
        "missing": log_p_count(missing, missing + column.missing, window.size, column.rows),
    }
    return _combine(logs, NUMERIC_WEIGHTS)


def _categorical(column: Categorical, window: ColumnValues) -> tuple[float, dict[str, float]]:
    codes = _codes(column, window)
    unseen = len(column.levels)
    ref_counts = [*column.counts, 0]
    counts = np.bincount(codes, minlength=unseen + 1).tolist()
    tail = codes[-(codes.size // RECENT_SHARE) :] if codes.size >= RECENT_SHARE else codes[:0]
    recent = np.bincount(tail, minlength=unseen + 1).tolist()
    logs = {
        "mix": log_p_levels(ref_counts, counts, column.weights),
        "recent": log_p_levels(ref_counts, recent, column.weights) if tail.size else 0.0,
    }
    return _combine(logs, CATEGORICAL_WEIGHTS)


def _codes(column: Categorical, window: ColumnValues) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Each window value's level index, the unseen level's index for a value the
    reference never had. An array (bytes from a CSV file) is looked up by its distinct
    values; a list by a dict look-up per value, converting only the misses (None, NaN)."""
    index = column.index
    unseen = len(column.levels)
    if isinstance(window, np.ndarray):
        if window.size == 0:
            return np.zeros(0, dtype=np.intp)
        sortable = _sortable(window)
        found = np.unique(sortable)  # a plain sort, cheaper than unique's inverse
        keys = as_strings(_unsortable(found, window).tolist())
        lookup = np.asarray([index.get(key, unseen) for key in keys], dtype=np.intp)
        codes: np.ndarray[Any, np.dtype[np.intp]] = lookup[np.searchsorted(found, sortable)]
        return codes
    listed = [index.get(v, -1) for v in window]
    for i, code in enumerate(listed):
        if code < 0:
            listed[i] = index.get(as_strings([window[i]])[0], unseen)
    return np.asarray(listed, dtype=np.intp)


def _sortable(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Short byte strings as integers (their bytes, zero-padded): sorting them is far
    cheaper than sorting strings, and distinct strings stay distinct."""
    if values.dtype.kind == "S" and values.dtype.itemsize <= 8:
        padded = np.zeros((values.size, 8), dtype=np.uint8)
        padded[:, : values.dtype.itemsize] = values.view(np.uint8).reshape(values.size, -1)
        return padded.view(np.uint64).ravel()
    return values


def _unsortable(found: np.ndarray[Any, Any], values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``_sortable``'s integers back to the byte strings."""
    if found.dtype != np.uint64 or values.dtype.kind != "S":
        return found
    width = values.dtype.itemsize
    raw = np.ascontiguousarray(found.view(np.uint8).reshape(-1, 8)[:, :width])
    strings: np.ndarray[Any, Any] = raw.view(values.dtype).ravel()
    return strings


def _combine(logs: dict[str, float], weights: dict[str, float]) -> tuple[float, dict[str, float]]:
    combined = min(0.0, min(logs[k] - math.log(w) for k, w in weights.items()))
    return combined, {k: _score(v) for k, v in logs.items()}


def _holm(log_ps: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in logs, in the input order."""
    k = len(log_ps)
    order = sorted(range(k), key=lambda i: log_ps[i])
    adjusted = [0.0] * k
    running = -math.inf
    for rank, i in enumerate(order):
        running = max(running, min(0.0, math.log(k - rank) + log_ps[i]))
        adjusted[i] = running
    return adjusted


def _score(log_p: float) -> float:
    return round(max(0.0, -log_p / _LN10), 4)

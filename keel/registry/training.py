"""The training data's fingerprint and reference statistics, kept with a model version so
drift can be measured against them later.

A CSV file (stdlib ``csv``, a header row first) or a Parquet file (only with ``pyarrow``
installed). A numeric feature is a column whose every non-empty value is a number; for each,
count, mean, standard deviation (population), min, max and 10 quantile edges (at 0, 1/9, …,
1: the edges of 9 equal-mass bins, the first the min, the last the max). Other columns are
listed by name only.

Summaries cannot support a powerful two-sample test, so the record also keeps the drift
reference (``"reference"``, see keel.monitor.drift.reference): a seeded sample of up to
5,000 present values per numeric feature and every categorical feature's level counts.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from keel.monitor.drift import Reference
from keel.registry.artifacts import content_hash

__all__ = ["QUANTILE_EDGES", "training_stats"]

QUANTILE_EDGES = 10


def training_stats(path: Path) -> dict[str, Any]:
    """``{"fingerprint", "file", "rows", "features": {name: stats}, "non_numeric": [...],
    "reference": the drift reference}``."""
    if not path.is_file():
        raise ValueError(f"training data {path}: no such file")
    columns = _parquet(path) if path.suffix.lower() == ".parquet" else _csv(path)
    rows = max((len(values) for values in columns.values()), default=0)
    features: dict[str, Any] = {}
    non_numeric = []
    for name, values in columns.items():
        numbers = _numbers(values)
        if numbers is None:
            non_numeric.append(name)
        elif numbers.size:
            features[name] = _stats(numbers)
    return {
        "fingerprint": content_hash(path),
        "file": path.name,
        "rows": rows,
        "features": features,
        "non_numeric": non_numeric,
        "reference": Reference.from_columns(columns).to_stored(),
    }


def _csv(path: Path) -> dict[str, list[Any]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise ValueError(f"training data {path}: empty, or no header row")
        columns: dict[str, list[Any]] = {name: [] for name in header}
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ValueError(
                    f"training data {path}, line {line}: {len(row)} fields, the header has "
                    f"{len(header)}"
                )
            for name, value in zip(header, row, strict=True):
                columns[name].append(value)
    return columns


def _parquet(path: Path) -> dict[str, list[Any]]:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise ValueError(
            f"training data {path}: reading Parquet needs pyarrow (pip install pyarrow), "
            "or give the data as CSV"
        ) from None
    columns: dict[str, list[Any]] = pq.read_table(path).to_pydict()
    return columns


def _numbers(values: Iterable[Any]) -> np.ndarray[Any, np.dtype[np.float64]] | None:
    """The column's non-empty values as floats; None if one is not a number."""
    numbers = []
    for value in values:
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if math.isnan(number):
            continue
        numbers.append(number)
    return np.asarray(numbers, dtype=np.float64)


def _stats(values: np.ndarray[Any, np.dtype[np.float64]]) -> dict[str, Any]:
    edges = np.quantile(values, np.linspace(0.0, 1.0, QUANTILE_EDGES))
    return {
        "count": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
        "quantiles": [float(e) for e in edges],
    }

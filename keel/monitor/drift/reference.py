"""A model version's reference for drift: per feature, what a window is compared with.

A numeric feature (every present value a number, integers included: they are ranked as
numbers, ties and all, never compared as strings) keeps its values; a categorical one its
level counts, the empty string standing for a missing value. Numbers are kept, and compared,
as float32: half the size on record, and a relative rounding of 6e-8 changes no rank that
matters for drift; window values are rounded the same way so equal inputs stay ties.

``to_stored`` / ``from_stored`` are the form kept with a registered version (under its
training statistics' ``"reference"`` key): a sample of up to ``SAMPLE_ROWS`` rows (seeded,
in row order; numbers byte-shuffled, zlib-compressed, base64; categorical values as codes
into the level list) plus each categorical feature's level counts over all training rows.
"""

from __future__ import annotations

import base64
import math
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from keel.monitor.drift.levels import level_weights
from keel.monitor.drift.ranks import Floats

__all__ = [
    "SAMPLE_ROWS",
    "Categorical",
    "ColumnValues",
    "NoReferenceSample",
    "Numeric",
    "Reference",
    "as_numbers",
    "as_strings",
]

SAMPLE_ROWS = 5000
STORED_FORMAT = 1
ColumnValues = Sequence[Any] | np.ndarray[Any, Any]


class NoReferenceSample(ValueError):
    """The version was registered without a reference sample (before keel kept one, or
    with no training data): its summary statistics cannot support a two-sample test."""


@dataclass(frozen=True)
class Numeric:
    values: Floats  # present values, float32-rounded, sorted
    missing: int

    @property
    def rows(self) -> int:
        return int(self.values.size) + self.missing


@dataclass(frozen=True)
class Categorical:
    levels: tuple[str, ...]
    counts: tuple[int, ...]
    weights: Floats  # one per level, then the unseen level's
    index: dict[str, int]  # level -> its position

    @property
    def rows(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Reference:
    """Per feature name, its reference."""

    columns: dict[str, Numeric | Categorical]

    @classmethod
    def from_columns(cls, columns: Mapping[str, ColumnValues]) -> Reference:
        """From raw columns (strings, numbers, None/NaN/"" for missing): a column whose
        every present value is a number is numeric, any other categorical."""
        return cls({name: _column(values) for name, values in columns.items()})

    def to_stored(self, seed: int = 0) -> dict[str, Any]:
        """The compact form kept with a version (a sample of up to SAMPLE_ROWS rows)."""
        return _to_stored(self, seed)

    @classmethod
    def from_stored(cls, training: Mapping[str, Any] | None) -> Reference:
        """From a version's training statistics; ``NoReferenceSample`` if it has none."""
        stored = (training or {}).get("reference")
        if not isinstance(stored, Mapping):
            raise NoReferenceSample(
                "this version has no reference sample for drift (registered before keel kept "
                "one, or without training data): register a new version with --train-data"
            )
        if stored.get("format") != STORED_FORMAT:
            raise NoReferenceSample(f"reference sample format {stored.get('format')!r} unknown")
        return cls({name: _load(spec) for name, spec in stored["columns"].items()})


def as_numbers(values: ColumnValues) -> Floats:
    """Floats, NaN for missing and for anything that is not a number."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values.astype(np.float32).astype(np.float64)
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value is None or value == "" or isinstance(value, bool):
            continue
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            continue
    return out.astype(np.float32).astype(np.float64)


def as_strings(values: ColumnValues) -> list[str]:
    """Strings, "" for missing."""
    return [_string(v) for v in values]


def _string(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _column(values: ColumnValues) -> Numeric | Categorical:
    if isinstance(values, np.ndarray) and values.dtype.kind == "S":
        return _bytes_column(values)
    numbers = as_numbers(values)
    present = ~np.isnan(numbers)
    strings = None if _all_numbers(values, present) else as_strings(values)
    if strings is None and present.any():
        return Numeric(np.sort(numbers[present]), int((~present).sum()))
    counts = Counter(strings if strings is not None else as_strings(values))
    return categorical(list(counts), list(counts.values()))


def _bytes_column(values: np.ndarray[Any, Any]) -> Numeric | Categorical:
    """A column of a CSV file that did not parse as numbers: its distinct values decide
    (each converted once, not each row)."""
    found, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    numbers = as_numbers(found.tolist())
    strings = as_strings(found.tolist())
    if all(s == "" or not np.isnan(x) for s, x in zip(strings, numbers.tolist(), strict=True)):
        row_numbers = numbers[inverse.ravel()]
        present = ~np.isnan(row_numbers)
        if present.any():
            return Numeric(np.sort(row_numbers[present]), int((~present).sum()))
    return categorical(strings, [int(c) for c in counts])


def categorical(levels: list[str], counts: list[int]) -> Categorical:
    index = {level: i for i, level in enumerate(levels)}
    return Categorical(tuple(levels), tuple(counts), level_weights(counts), index)


def _all_numbers(values: ColumnValues, present: np.ndarray[Any, Any]) -> bool:
    """Every value either a number or missing (NaN for a non-number is not missing)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return True
    return all(
        ok or v is None or v == "" or (isinstance(v, float) and math.isnan(v))
        for v, ok in zip(values, present.tolist(), strict=True)
    )


def _to_stored(reference: Reference, seed: int) -> dict[str, Any]:
    rows = max((c.rows for c in reference.columns.values()), default=0)
    columns: dict[str, Any] = {}
    for name, column in reference.columns.items():
        if isinstance(column, Numeric):
            keep = _sample(column.values, SAMPLE_ROWS, seed)
            columns[name] = {
                "kind": "numeric",
                "missing": column.missing,
                "rows": column.rows,
                "values": _pack(keep),
            }
        else:
            columns[name] = {
                "kind": "categorical",
                "levels": list(column.levels),
                "counts": list(column.counts),
            }
    return {"format": STORED_FORMAT, "rows": rows, "columns": columns}


def _sample(values: Floats, cap: int, seed: int) -> Floats:
    if values.size <= cap:
        return values
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(values, size=cap, replace=False))


def _load(spec: Mapping[str, Any]) -> Numeric | Categorical:
    if spec["kind"] == "numeric":
        values = _unpack(spec["values"])
        share = spec["missing"] / spec["rows"] if spec["rows"] else 0.0
        # The missing count at the sample's scale, so the missing-rate test compares like
        # with like: a sample of the present values, missing ones in their training share.
        missing = round(share * values.size / (1.0 - share)) if share < 1.0 else spec["missing"]
        return Numeric(values, int(missing))
    return categorical(list(spec["levels"]), [int(c) for c in spec["counts"]])


def _pack(values: Floats) -> str:
    """float32, bytes shuffled (all first bytes, then all second bytes...: sorted values'
    high bytes repeat, so they compress), zlib, base64."""
    raw = np.ascontiguousarray(values, dtype="<f4").view(np.uint8).reshape(-1, 4)
    return base64.b64encode(zlib.compress(raw.T.tobytes(), 9)).decode("ascii")


def _unpack(text: str) -> Floats:
    raw = np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.uint8)
    values = raw.reshape(4, -1).T.copy().view("<f4").ravel()
    return np.sort(values.astype(np.float64))

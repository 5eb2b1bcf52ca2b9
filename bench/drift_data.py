"""Seeded tabular windows with known drift, for bench/drift_compare.py and the tests.

30 independent columns: 20 numeric of ten shapes (normal, lognormal and gamma skewed,
Student-t heavy-tailed, a bimodal mixture, beta and uniform bounded, Poisson counts of mean
3 and 0.7 (low-cardinality integers, mostly ties), negative-binomial counts), each twice,
and 10 categorical with 3 to 12 levels of Zipf-like, very unequal frequency (the largest
level holds 40-70%). Every shift is stated in the column's own standard deviation or in
percentage points of a level's share:

- ``location`` d: the column moves by d SD (counts: their rate moves so the mean does);
- ``scale`` f: the spread around the mean is multiplied by f (counts: overdispersed to f^2
  times the variance, same mean);
- ``mix`` d: the largest level's share falls by d (the other levels take it in proportion);
- ``ramp`` d: a location shift growing linearly from 0 at the window's first row to d SD at
  its last (row order is time order).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CATEGORICAL", "NUMERIC", "Shift", "columns", "write_csv"]

Rng = np.random.Generator
Floats = np.ndarray[Any, np.dtype[np.float64]]
SHAPES = ("normal", "lognormal", "gamma", "t4", "bimodal", "beta", "uniform", "poisson3",
          "poisson07", "negbin")  # fmt: skip
NUMERIC = [f"{shape}_{i}" for i in range(2) for shape in SHAPES]
LEVELS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
CATEGORICAL = [f"cat{k}" for k in LEVELS]


@dataclass(frozen=True)
class Shift:
    kind: str  # "location", "scale", "mix" or "ramp"
    size: float
    columns: tuple[str, ...]


def _counts(mean: float, rng: Rng, n: int, loc: Floats, scale: float, negbin: bool) -> Floats:
    sd = math.sqrt(mean * (2.0 if negbin else 1.0))
    rate = np.maximum(mean + loc * sd, 1e-9)
    if negbin or scale != 1.0:
        # gamma-Poisson: variance rate + rate^2 / shape; shape set for the wanted variance.
        extra = (scale * scale * sd * sd) - mean
        shape = mean * mean / extra if extra > 0 else 1e9
        rate = rng.gamma(shape, rate / shape, n)
    return rng.poisson(rate).astype(np.float64)


def _numeric(shape: str, rng: Rng, n: int, loc: Floats, scale: float) -> Floats:
    """``n`` values of ``shape`` moved by ``loc`` SD (an array, one per row) and spread by
    ``scale`` around the mean."""
    if shape.startswith("poisson") or shape == "negbin":
        mean = {"poisson3": 3.0, "poisson07": 0.7, "negbin": 3.0}[shape]
        return _counts(mean, rng, n, loc, scale, shape == "negbin")
    draw, mean, sd = _SHAPES[shape]
    x = draw(rng, n)
    return mean + (x - mean) * scale + loc * sd


_SHAPES: dict[str, tuple[Callable[[Rng, int], Floats], float, float]] = {
    "normal": (lambda r, n: r.normal(10.0, 2.0, n), 10.0, 2.0),
    "lognormal": (lambda r, n: r.lognormal(0.0, 0.75, n), math.exp(0.28125),
                  math.sqrt((math.exp(0.5625) - 1) * math.exp(0.5625))),
    "gamma": (lambda r, n: r.gamma(2.0, 1.5, n), 3.0, 1.5 * math.sqrt(2.0)),
    "t4": (lambda r, n: r.standard_t(4, n), 0.0, math.sqrt(2.0)),
    "bimodal": (lambda r, n: np.where(r.random(n) < 0.35, r.normal(-2.0, 0.7, n),
                                      r.normal(1.5, 1.0, n)), 0.275,
                math.sqrt(0.35 * (4 + 0.49) + 0.65 * (2.25 + 1.0) - 0.275**2)),
    "beta": (lambda r, n: r.beta(2.0, 5.0, n), 2 / 7, math.sqrt(10 / (49 * 8))),
    "uniform": (lambda r, n: r.uniform(0.0, 100.0, n), 50.0, 100 / math.sqrt(12)),
}  # fmt: skip


def _shares(k: int, drop: float) -> Floats:
    p = 1.0 / np.arange(1, k + 1) ** 1.6
    p /= p.sum()
    if drop:
        rest = 1.0 - p[0]
        p[1:] *= (rest + drop) / rest
        p[0] -= drop
    return p


def columns(n: int, seed: int, shift: Shift | None = None) -> dict[str, list[str]]:
    """One window of ``n`` rows as CSV-ready strings, column by column."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[str]] = {}
    for name in NUMERIC:
        loc: Floats = np.zeros(n)
        scale = 1.0
        if shift is not None and name in shift.columns:
            if shift.kind == "location":
                loc = np.full(n, shift.size)
            elif shift.kind == "ramp":
                loc = np.linspace(0.0, shift.size, n)
            elif shift.kind == "scale":
                scale = shift.size
        values = _numeric(name.rsplit("_", 1)[0], rng, n, loc, scale)
        integer = name.startswith(("poisson", "negbin"))
        out[name] = [str(int(v)) for v in values] if integer else [f"{v:.6f}" for v in values]
    for name, k in zip(CATEGORICAL, LEVELS, strict=True):
        drop = (
            shift.size
            if shift is not None and shift.kind == "mix" and name in shift.columns
            else 0.0
        )
        codes = rng.choice(k, size=n, p=_shares(k, drop))
        out[name] = [f"L{c}" for c in codes]
    return out


def write_csv(path: str, table: dict[str, list[str]]) -> None:
    names = list(table)
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(names) + "\n")
        f.writelines(",".join(row) + "\n" for row in zip(*table.values(), strict=True))

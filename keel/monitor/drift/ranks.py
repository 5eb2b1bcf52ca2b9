"""Two-sample linear rank statistics with normal scores, for numeric features.

A window's values are ranked in the pool of reference and window (ties get their midrank),
each rank ``r`` is given the score ``a = Phi^-1(r / (N + 1))`` (van der Waerden), and the
statistic is the sum of the window's scores. Under "same distribution" every split of the
pool is equally likely, so the statistic's mean and variance are known exactly from the
pool's scores alone (the permutation moments), ties included: that is what makes the test
valid for integer counts with many ties and for any window or reference size. The p-value
is the normal approximation to that permutation distribution.

Location uses ``a`` (as efficient as the t-test on normal data, more on heavy tails);
scale uses ``|a|`` (a wider or narrower window puts its scores further out or nearer in).

Only numpy: scipy.stats costs a second to import and the CLI must start fast. ``ndtri`` is
Acklam's rational approximation (relative error < 1.2e-9, ample for scores), ``log_sf`` the
normal upper tail in logs, exact through ``math.erfc`` and asymptotic beyond its underflow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["Floats", "log_two_sided", "ndtri", "rank_z"]

Floats = np.ndarray[Any, np.dtype[np.float64]]

_A = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
      -30.66479806614716, 2.506628277459239)  # fmt: skip
_B = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
      -13.28068155288572)  # fmt: skip
_C = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
      4.374664141464968, 2.938163982698783)  # fmt: skip
_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
_LOW = 0.02425


def ndtri(p: Floats) -> Floats:
    """The standard normal quantile of each ``p`` in (0, 1)."""
    out = np.empty_like(p)
    low = p < _LOW
    high = p > 1.0 - _LOW
    mid = ~(low | high)
    q = p[mid] - 0.5
    r = q * q
    num = ((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]
    den = ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0
    out[mid] = q * num / den
    for mask, sign in ((low, 1.0), (high, -1.0)):
        tail = p[mask] if sign > 0 else 1.0 - p[mask]
        s = np.sqrt(-2.0 * np.log(tail))
        num = ((((_C[0] * s + _C[1]) * s + _C[2]) * s + _C[3]) * s + _C[4]) * s + _C[5]
        den = (((_D[0] * s + _D[1]) * s + _D[2]) * s + _D[3]) * s + 1.0
        out[mask] = sign * num / den
    return out


def log_sf(z: float) -> float:
    """``log P(Z > z)`` for a standard normal ``Z``, finite however large ``z`` is."""
    if z < 30.0:
        return math.log(0.5 * math.erfc(z / math.sqrt(2.0)))
    inv = 1.0 / (z * z)
    series = 1.0 - inv + 3.0 * inv * inv - 15.0 * inv**3
    return -0.5 * z * z - math.log(z * math.sqrt(2.0 * math.pi)) + math.log(series)


def log_two_sided(z: float) -> float:
    """``log P(|Z| >= |z|)``."""
    return min(0.0, math.log(2.0) + log_sf(abs(z)))


def rank_z(reference: Floats, window: Floats, recent: int = 0) -> tuple[float, float, float]:
    """The location and scale z statistics of ``window`` against ``reference`` (both
    without missing values, ``reference`` sorted), and the location z of the window's last
    ``recent`` values against the rest of the pool (reference and earlier window: under
    no drift every value is exchangeable with every other, so this costs no second
    ranking); zeros when nothing can be ranked (an empty side, every pooled value equal)."""
    m, n = reference.size, window.size
    if m == 0 or n == 0:
        return 0.0, 0.0, 0.0
    order = np.argsort(window)  # tied values share a group, so their order is immaterial
    ours = window[order]
    # Merge, not sort, the pool: the reference is sorted once, when it is made.
    at = np.searchsorted(reference, ours, side="right") + np.arange(n)
    pooled = np.empty(m + n)
    mine = np.zeros(m + n, dtype=bool)
    mine[at] = True
    pooled[at] = ours
    pooled[~mine] = reference
    first = np.empty(m + n, dtype=bool)
    first[0] = True
    np.not_equal(pooled[1:], pooled[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, m + n))
    scores = _scores(starts, counts, m + n)
    groups = (np.cumsum(first) - 1)[at]
    window_counts = np.bincount(groups, minlength=starts.size).astype(np.float64)
    location = _z(scores, counts, window_counts, n, m)
    scale = _z(np.abs(scores), counts, window_counts, n, m)
    late = 0.0
    if 0 < recent < m + n:
        tail = groups[order >= n - recent]
        tail_counts = np.bincount(tail, minlength=starts.size).astype(np.float64)
        late = _z(scores, counts, tail_counts, tail.size, m + n - tail.size)
    return location, scale, late


def _scores(starts: Any, counts: Any, total: int) -> Floats:
    """Each tie group's normal score at its midrank: from a table of the untied scores
    when the midrank is a whole rank (every value, when there are no ties), else computed."""
    doubled = 2 * starts + counts + 1  # twice the (1-based) midrank
    scores: Floats = _untied(total)[(doubled // 2) - 1]
    halves = doubled % 2 == 1
    if halves.any():
        scores = scores.copy()
        scores[halves] = ndtri(doubled[halves] / (2.0 * (total + 1.0)))
    return scores


_UNTIED: dict[int, Floats] = {}


def _untied(total: int) -> Floats:
    """``ndtri(r / (total + 1))`` for r = 1..total, kept for the last few pool sizes."""
    table = _UNTIED.get(total)
    if table is None:
        if len(_UNTIED) >= 8:
            _UNTIED.clear()
        table = _UNTIED[total] = ndtri(np.arange(1, total + 1) / (total + 1.0))
    return table


def _z(scores: Floats, counts: Any, ours: Floats, n: int, m: int) -> float:
    """The window's score sum standardised by its exact permutation mean and variance."""
    total = n + m
    mean_score = float(counts @ scores) / total
    spread = float(counts @ (scores - mean_score) ** 2)
    variance = n * m / (total * (total - 1.0)) * spread if total > 1 else 0.0
    if variance <= 1e-12 * max(spread, 1.0):
        return 0.0
    return (float(ours @ scores) - n * mean_score) / math.sqrt(variance)

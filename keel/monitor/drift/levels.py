"""Per-level tests of a categorical feature's mix, and of a missing-value rate.

For each level, the window's count given the level's pooled count is hypergeometric under
"same mix" (every split of the pool equally likely), so its two-sided p-value is exact at
any size: summed exactly while the level is small (rare and novel levels, where a normal
approximation would raise false alarms), normal with a continuity correction once its
standard deviation passes ``EXACT_SD``.

The levels' p-values are combined by a weighted Bonferroni (``min p_i / w_i``): a level
whose share is near one half moves least, in standard deviations, for a given move in
percentage points, so it gets the most of the feature's alpha (``w ~ (p (1 - p))^2 +
floor``, squared because a level of 10% moved 5 points is already 9 standard deviations
away at 5,000 rows while one of 50% is 5); small levels get little; the
weights come from the reference alone, so they are fixed before the window is seen. Values
the reference never had are pooled into one "unseen" level with the floor weight. This
beats a chi-square on one category moving (its k - 1 degrees of freedom dilute the one
that moved), and still sees a diffuse change through the levels it moves most.
"""

from __future__ import annotations

import math

import numpy as np

from keel.monitor.drift.ranks import Floats, log_two_sided

__all__ = ["level_weights", "log_p_count", "log_p_levels"]

EXACT_SD = 20.0
FLOOR = 0.001


def level_weights(reference_counts: list[int]) -> Floats:
    """The weights of the reference's levels and, last, of the unseen level; they sum to 1."""
    counts = np.asarray(reference_counts, dtype=np.float64)
    total = counts.sum()
    share = counts / total if total > 0 else counts
    raw = np.append((share * (1.0 - share)) ** 2 + FLOOR, FLOOR)
    weights: Floats = raw / raw.sum()
    return weights


def log_p_levels(reference_counts: list[int], window_counts: list[int], weights: Floats) -> float:
    """``log`` of the weighted-Bonferroni p-value over the levels (the last one the unseen
    level, 0 in the reference); ``window_counts`` in the same order."""
    m = sum(reference_counts)
    n = sum(window_counts)
    best = 0.0
    for ref, ours, weight in zip(reference_counts, window_counts, weights, strict=True):
        if ref + ours == 0:
            continue
        best = min(best, log_p_count(ours, ref + ours, n, m) - math.log(weight))
    return best


def log_p_count(ours: int, level_total: int, n: int, m: int) -> float:
    """``log`` two-sided p-value of a window of ``n`` holding ``ours`` of a level that has
    ``level_total`` in the pool of window and reference (``m``)."""
    total = n + m
    if n == 0 or m == 0 or level_total in (0, total):
        return 0.0
    mean = level_total * n / total
    variance = mean * (m / total) * (total - level_total) / (total - 1.0)
    if variance > EXACT_SD * EXACT_SD:
        excess = max(0.0, abs(ours - mean) - 0.5)
        return log_two_sided(excess / math.sqrt(variance))
    return _log_p_exact(ours, level_total, n, m)


def _log_p_exact(ours: int, level_total: int, n: int, m: int) -> float:
    """Twice the smaller hypergeometric tail at ``ours``, capped at 1, in logs; the pmf by
    its ratio recursion and normalised by its own sum, so no log-gamma is needed."""
    low = max(0, level_total - m)
    high = min(level_total, n)
    k = np.arange(low, high, dtype=np.float64)
    ratio = (level_total - k) * (n - k) / ((k + 1.0) * (m - level_total + k + 1.0))
    log_pmf = np.concatenate(([0.0], np.cumsum(np.log(ratio))))
    log_pmf -= _log_sum_exp(log_pmf)
    at = ours - low
    lower = _log_sum_exp(log_pmf[: at + 1])
    upper = _log_sum_exp(log_pmf[at:])
    return min(0.0, math.log(2.0) + min(lower, upper))


def _log_sum_exp(values: Floats) -> float:
    top = float(values.max())
    return top + math.log(float(np.exp(values - top).sum()))

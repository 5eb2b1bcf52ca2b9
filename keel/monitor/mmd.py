"""A two-sample test on embeddings: the unbiased MMD^2 with a Gaussian (RBF) kernel and a
permutation p-value (Gretton et al., "A Kernel Two-Sample Test", JMLR 2012).

Why it is valid whatever the window sizes: the kernel's bandwidth is the median squared
distance over the *pooled* vectors, a function of the pooled sample that ignores which side a
vector came from, so the kernel matrix is the same under every relabelling; the observed
labelling is counted among the permutations, so P(p <= alpha) <= alpha exactly when the two
windows come from one distribution (and their vectors are exchangeable).

Cost, for N = n + m vectors and B permutations: one N x N kernel matrix (N^2 x 384 multiply-adds
and N^2 exps, 4 N^2 bytes) and one N x N by N x (B + 1) matrix product: N^2 (B + 1)
multiply-adds. N = 1,000 and B = 300 is 3 x 10^8, a fraction of a second on one core; the
products run on one BLAS thread, so a check never takes the core the event loop runs on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

__all__ = ["MMDResult", "mmd_test"]

Vectors = npt.NDArray[np.float32]
_PAIRS = 200_000  # pairs sampled for the median when there are more


@dataclass(frozen=True, slots=True)
class MMDResult:
    mmd2: float  # the unbiased estimate of the observed labelling
    p_value: float  # (1 + permutations at least as large) / (1 + permutations)
    n_reference: int
    n_current: int
    bandwidth: float  # the kernel's scale: the median squared distance

    @property
    def score(self) -> float:
        """-log10 of the p-value: 2 is p = 0.01 (keel_embedding_drift_score)."""
        return -math.log10(self.p_value)


def mmd_test(
    reference: Vectors, current: Vectors, permutations: int, rng: np.random.Generator
) -> MMDResult:
    """Whether ``current`` comes from another distribution than ``reference`` (rows are
    vectors; each side needs two at least)."""
    n, m = len(reference), len(current)
    if n < 2 or m < 2:
        raise ValueError("each window needs at least two vectors")
    pooled = np.vstack([reference, current]).astype(np.float32, copy=False)
    labels = np.zeros((n + m, permutations + 1), dtype=np.float32)
    labels[:n, 0] = 1.0
    order = np.argsort(rng.random((n + m, permutations)), axis=0)[:n]
    np.put_along_axis(labels[:, 1:], order, 1.0, axis=0)
    with threadpool_limits(limits=1, user_api="blas"):
        kernel, bandwidth = _kernel(pooled, rng)
        stats = _mmd2(kernel, labels, n, m)
    exceed = int(np.count_nonzero(stats[1:] >= stats[0]))
    p_value = (1 + exceed) / (1 + permutations)
    return MMDResult(float(stats[0]), p_value, n, m, bandwidth)


def _kernel(pooled: Vectors, rng: np.random.Generator) -> tuple[Vectors, float]:
    """exp(-|x - y|^2 / h), h the median squared distance, with a zero diagonal (so the sums
    below leave out each vector's pairing with itself, as the unbiased estimate must)."""
    sq = np.einsum("ij,ij->i", pooled, pooled)
    dist = sq[:, None] + sq[None, :] - 2.0 * (pooled @ pooled.T)
    np.maximum(dist, 0.0, out=dist)
    h = _median_distance(dist, rng)
    kernel: Vectors = np.exp(-dist / h).astype(np.float32, copy=False)
    np.fill_diagonal(kernel, 0.0)
    return kernel, h


def _median_distance(dist: Vectors, rng: np.random.Generator) -> float:
    size = len(dist)
    pairs = size * (size - 1) // 2
    if pairs <= _PAIRS:
        upper = dist[np.triu_indices(size, k=1)]
    else:
        i = rng.integers(0, size, _PAIRS)
        j = rng.integers(0, size - 1, _PAIRS)
        j = j + (j >= i)  # another vector than i, uniformly
        upper = dist[i, j]
    h = float(np.median(upper))
    return h if h > 1e-12 else 1.0  # all vectors alike: any scale gives one statistic


def _mmd2(kernel: Vectors, labels: Vectors, n: int, m: int) -> npt.NDArray[np.float64]:
    """The unbiased MMD^2 of each column's labelling (1: reference, 0: current)."""
    in_ref = kernel @ labels  # row i: sum of k(i, j) over the reference j
    in_cur = kernel.sum(axis=1, dtype=np.float32)[:, None] - in_ref
    other = 1.0 - labels
    ref_ref = np.einsum("ij,ij->j", labels, in_ref, dtype=np.float64)
    cur_cur = np.einsum("ij,ij->j", other, in_cur, dtype=np.float64)
    ref_cur = np.einsum("ij,ij->j", other, in_ref, dtype=np.float64)
    stats: npt.NDArray[np.float64] = (
        ref_ref / (n * (n - 1)) + cur_cur / (m * (m - 1)) - 2.0 * ref_cur / (n * m)
    )
    return stats

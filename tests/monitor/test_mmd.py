"""The MMD permutation test: calibrated under no drift (whatever the window sizes), and it
finds a clear shift."""

from __future__ import annotations

import numpy as np
import pytest

from keel.monitor.mmd import mmd_test


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clusters(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    """Unit vectors around fixed topic centres (a stand-in for prompt embeddings)."""
    centres = np.random.default_rng(99).normal(size=(len(weights), 384))
    topic = rng.choice(len(weights), size=n, p=weights)
    return unit(centres[topic] * 0.6 + rng.normal(size=(n, 384)) / np.sqrt(384) * 8)


@pytest.mark.parametrize(("n", "m"), [(60, 60), (150, 30), (25, 120)])
def test_under_no_drift_the_false_alarm_rate_is_near_alpha(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 1000 + m)
    weights = [0.5, 0.3, 0.2]
    p = np.array([
        mmd_test(clusters(rng, n, weights), clusters(rng, m, weights), 99, rng).p_value
        for _ in range(150)
    ])  # fmt: skip
    # Exactly valid: P(p <= a) <= a. Loose bounds (binomial sd at 150 trials is ~0.03).
    assert np.mean(p <= 0.1) < 0.2
    assert np.mean(p <= 0.5) < 0.65
    assert np.mean(p <= 0.5) > 0.35  # not a test that never fires either


def test_a_new_topic_mixed_in_is_found() -> None:
    rng = np.random.default_rng(1)
    reference = clusters(rng, 200, [0.5, 0.3, 0.2, 0.0])
    current = clusters(rng, 200, [0.25, 0.15, 0.1, 0.5])
    result = mmd_test(reference, current, 199, rng)
    assert result.p_value == pytest.approx(1 / 200)  # no permutation came near it
    assert result.score == pytest.approx(-np.log10(1 / 200))
    assert result.mmd2 > 0 and (result.n_reference, result.n_current) == (200, 200)


def test_the_p_value_counts_the_observed_labelling_and_stays_in_range() -> None:
    rng = np.random.default_rng(2)
    same = clusters(rng, 40, [1.0])
    result = mmd_test(same, same.copy(), 49, rng)
    assert 1 / 50 <= result.p_value <= 1.0
    assert result.bandwidth > 0


def test_identical_vectors_give_no_drift_rather_than_an_error() -> None:
    rng = np.random.default_rng(3)
    one = np.tile(clusters(rng, 1, [1.0]), (30, 1))
    assert mmd_test(one, one.copy(), 49, rng).p_value == 1.0


def test_a_window_of_one_is_refused() -> None:
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="at least two"):
        mmd_test(clusters(rng, 1, [1.0]), clusters(rng, 5, [1.0]), 49, rng)

"""The reference kept with a version: compact, read back to the same verdicts, and a
version without one says so."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from keel.monitor.drift import NoReferenceSample, Reference, detect
from keel.monitor.drift.reference import SAMPLE_ROWS, Categorical, Numeric


def _columns(rng: np.random.Generator, n: int) -> dict[str, list[str]]:
    return {
        "x": [f"{v:.4f}" if i % 20 else "" for i, v in enumerate(rng.normal(size=n))],
        "n": [str(v) for v in rng.poisson(2, n)],
        "k": [str(v) for v in rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])],
    }


def test_stored_and_read_back_it_gives_the_same_report() -> None:
    rng = np.random.default_rng(0)
    reference = Reference.from_columns(_columns(rng, 3000))
    stored = orjson.loads(orjson.dumps(reference.to_stored()))
    again = Reference.from_stored({"reference": stored})
    window = _columns(rng, 1000)
    assert detect(again, window) == detect(reference, window)
    numeric = again.columns["x"]
    assert isinstance(numeric, Numeric) and numeric.missing == 150
    categorical = again.columns["k"]
    assert isinstance(categorical, Categorical) and categorical.rows == 3000


def test_a_large_training_set_keeps_a_capped_sample_and_all_counts() -> None:
    rng = np.random.default_rng(1)
    n = 3 * SAMPLE_ROWS
    reference = Reference.from_columns(
        {"x": rng.normal(size=n), "k": rng.choice(["a", "b"], n).tolist()}
    )
    again = Reference.from_stored({"reference": reference.to_stored()})
    x, k = again.columns["x"], again.columns["k"]
    assert isinstance(x, Numeric) and x.values.size == SAMPLE_ROWS
    assert isinstance(k, Categorical) and k.rows == n
    # float32, byte-shuffled, compressed: well under 5 bytes a value on record.
    assert len(orjson.dumps(reference.to_stored())) < 5 * SAMPLE_ROWS


@pytest.mark.parametrize("training", [None, {}, {"features": {"x": {"mean": 1.0}}}])
def test_a_version_without_a_sample_says_so(training: dict[str, object] | None) -> None:
    with pytest.raises(NoReferenceSample, match="no reference sample"):
        Reference.from_stored(training)

"""Drift statistics: calibrated under no drift (numeric shapes, ties, categoricals,
missing values), a large shift found, Holm across features, odd columns never a crash."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from keel.monitor.drift import Reference, detect

Draw = Callable[[np.random.Generator, int], Any]

SHAPES: dict[str, Draw] = {
    "normal": lambda r, n: r.normal(size=n),
    "lognormal": lambda r, n: r.lognormal(0.0, 1.0, n),
    "counts": lambda r, n: r.poisson(2.0, n).astype(float),  # many ties
    "rare_binary": lambda r, n: (r.random(n) < 0.02).astype(float),
    "levels": lambda r, n: r.choice(["a", "b", "c", "d"], n, p=[0.7, 0.2, 0.07, 0.03]).tolist(),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_no_drift_is_flagged_about_alpha_of_the_time(shape: str) -> None:
    draw = SHAPES[shape]
    rng = np.random.default_rng(7)
    windows = 200
    # A fresh reference each time: the error rate of a two-sample test is over both samples.
    flagged = sum(
        detect(
            Reference.from_columns({"x": draw(rng, 1000)}), {"x": draw(rng, 300)}, alpha=0.1
        ).dataset_drift
        for _ in range(windows)
    )
    # Binomial(200, <= 0.1): above 40 has a chance near 1e-5 for a calibrated test.
    assert flagged <= 40


def test_a_large_location_shift_is_found_with_a_high_score() -> None:
    rng = np.random.default_rng(1)
    reference = Reference.from_columns({"x": rng.normal(size=2000), "y": rng.normal(size=2000)})
    report = detect(reference, {"x": rng.normal(0.5, 1.0, 1000), "y": rng.normal(size=1000)})
    assert report.dataset_drift and report.columns["x"].drift
    assert report.columns["x"].score > 10 and report.columns["x"].method == "numeric"
    assert report.columns["x"].parts["location"] > report.columns["x"].parts["scale"]
    assert not report.columns["y"].drift


def test_a_scale_change_alone_is_found() -> None:
    rng = np.random.default_rng(2)
    reference = Reference.from_columns({"x": rng.normal(size=5000)})
    report = detect(reference, {"x": rng.normal(0.0, 1.5, 3000)})
    assert report.columns["x"].drift and report.columns["x"].parts["scale"] > 10


def test_integer_counts_are_numbers_not_strings() -> None:
    rng = np.random.default_rng(3)
    reference = Reference.from_columns({"n": [str(v) for v in rng.poisson(3.0, 3000)]})
    shifted = detect(reference, {"n": [str(v) for v in rng.poisson(3.6, 3000)]})
    assert shifted.columns["n"].method == "numeric" and shifted.columns["n"].drift


def test_a_category_moving_is_found_and_a_new_one_too() -> None:
    rng = np.random.default_rng(4)
    levels = ["a", "b", "c"]
    reference = Reference.from_columns({"k": rng.choice(levels, 5000, p=[0.6, 0.3, 0.1]).tolist()})
    moved = rng.choice(levels, 5000, p=[0.5, 0.35, 0.15]).tolist()
    assert detect(reference, {"k": moved}).columns["k"].drift
    novel = rng.choice(levels, 2000, p=[0.6, 0.3, 0.1]).tolist() + ["zz"] * 60
    report = detect(reference, {"k": novel})
    assert report.columns["k"].drift and report.columns["k"].method == "categorical"


def test_a_ramp_shows_in_the_recent_part() -> None:
    rng = np.random.default_rng(5)
    reference = Reference.from_columns({"x": rng.normal(size=5000)})
    window = rng.normal(size=4000) + np.where(np.arange(4000) >= 3000, 0.4, 0.0)
    parts = detect(reference, {"x": window}).columns["x"].parts
    assert parts["recent"] > parts["location"] > 0


def test_missing_values_rate_change_is_drift_and_missing_values_are_not_values() -> None:
    rng = np.random.default_rng(6)
    values = rng.normal(size=3000)
    reference = Reference.from_columns(
        {"x": [f"{v}" if i % 10 else "" for i, v in enumerate(values)]}
    )
    same = detect(reference, {"x": [f"{v}" if i % 10 else "" for i, v in enumerate(values[:1000])]})
    assert not same.dataset_drift
    holes = [f"{v}" if i % 2 else "" for i, v in enumerate(rng.normal(size=1000))]
    report = detect(reference, {"x": holes})
    assert report.columns["x"].drift and report.columns["x"].parts["missing"] > 10


def test_holm_keeps_the_score_on_the_adjusted_scale() -> None:
    rng = np.random.default_rng(8)
    names = [f"c{i}" for i in range(10)]
    reference = Reference.from_columns({n: rng.normal(size=2000) for n in names})
    window = {n: rng.normal(size=500) for n in names}
    report = detect(reference, window)
    for feature in report.columns.values():
        assert feature.score == pytest.approx(-math.log10(feature.p_value), abs=1e-3)
        assert feature.drift == (feature.p_value < 0.05)
    assert report.dataset_drift == any(f.drift for f in report.columns.values())


@pytest.mark.parametrize(
    "reference_values, window_values, drifts",
    [
        ([1.0] * 100, [1.0] * 50, False),  # constant, unchanged
        ([1.0] * 100, [2.0] * 50, True),  # constant, changed
        ([""] * 100, [""] * 50, False),  # all missing
        ([""] * 100, ["3"] * 50, True),  # all missing, then values
        ([float("nan")] * 100, [1.0] * 50, True),
        (["1", "2", "x"] * 30, ["1", "2", "x"] * 15, False),  # categorical, numbers among
        (["1", "2", "x"] * 30, ["1", "2"] * 30, True),  # a level gone
        ([1.0, 2.0, 3.0] * 30, [], False),  # an empty window
        ([1.0, 2.0, 3.0] * 30, ["a", "b"] * 10, True),  # not numbers: missing
    ],
)
def test_odd_columns_give_an_answer_never_a_crash(
    reference_values: list[Any], window_values: list[Any], drifts: bool
) -> None:
    reference = Reference.from_columns({"x": reference_values})
    report = detect(reference, {"x": window_values})
    feature = report.columns["x"]
    assert math.isfinite(feature.score) and 0.0 <= feature.p_value <= 1.0
    assert feature.drift == drifts


def test_a_feature_missing_from_the_window_is_absent_and_drifts() -> None:
    rng = np.random.default_rng(9)
    reference = Reference.from_columns({"x": rng.normal(size=500), "k": ["a", "b"] * 250})
    report = detect(reference, {"x": rng.normal(size=200), "extra": [1.0] * 200})
    assert report.columns["k"].method == "absent" and report.columns["k"].drift
    assert not report.columns["x"].drift and "extra" not in report.columns

"""What a prediction costs: a price per prediction plus a price per row of its inputs."""

from __future__ import annotations

import numpy as np
import pytest

from keel.config.schema import PredictiveModelConfig
from keel.finops.prediction_cost import prediction_cost_usd, rows

PRICED = PredictiveModelConfig(price_per_prediction=0.002, price_per_row=0.0005)


def test_rows_are_the_largest_first_dimension_and_a_scalar_is_one() -> None:
    assert rows({"X": np.zeros((3, 30)), "mask": np.zeros(3)}) == 3
    assert rows({"a": np.zeros((2, 4)), "b": np.zeros((5, 1))}) == 5
    assert rows({"x": np.float32(1.0).reshape(())}) == 1
    assert rows({"x": np.zeros((0, 30))}) == 0
    assert rows({}) == 0


def test_the_price_is_per_prediction_plus_per_row() -> None:
    assert prediction_cost_usd(PRICED, {"X": np.zeros((4, 30))}) == pytest.approx(0.004)
    assert prediction_cost_usd(PRICED, {"X": np.zeros((0, 30))}) == pytest.approx(0.002)


def test_a_model_without_prices_is_free() -> None:
    assert prediction_cost_usd(None, {"X": np.zeros((4, 30))}) == 0.0
    assert prediction_cost_usd(PredictiveModelConfig(), {"X": np.zeros((4, 30))}) == 0.0

"""What one prediction costs: its model's price per prediction, plus its price per row times
the rows asked (``predictive.models.<name>``). Both are known before the run, so the worst case
a hard budget reserves is the cost itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy.typing as npt

from keel.config.schema import PredictiveModelConfig

__all__ = ["prediction_cost_usd", "rows"]


def rows(inputs: Mapping[str, npt.NDArray[Any]]) -> int:
    """The rows a prediction asks for: the largest first dimension of its inputs (a scalar
    input is one row)."""
    return max((int(a.shape[0]) if a.ndim else 1 for a in inputs.values()), default=0)


def prediction_cost_usd(
    settings: PredictiveModelConfig | None, inputs: Mapping[str, npt.NDArray[Any]]
) -> float:
    """The cost of one prediction of a model with ``settings`` (None: not configured, free)."""
    if settings is None:
        return 0.0
    per_row = settings.price_per_row
    return settings.price_per_prediction + (per_row * rows(inputs) if per_row else 0.0)

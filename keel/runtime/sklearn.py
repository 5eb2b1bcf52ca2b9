"""A fitted scikit-learn estimator served as a session: one FP64 input ``input``
[-1, n_features]; outputs ``label`` (``predict``) and, when the estimator has
``predict_proba``, ``probabilities`` [-1, n_classes].

The caller loads the estimator (the registry decides which formats are safe to load); this
module never unpickles anything and does not import scikit-learn itself.
"""

from __future__ import annotations

import pickle
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from keel.runtime.datatypes import datatype_of
from keel.runtime.signature import Signature, TensorSpec
from keel.runtime.worker import SessionBase

__all__ = ["Estimator", "SklearnSession"]


class Estimator(Protocol):
    n_features_in_: int

    def predict(self, X: npt.NDArray[Any]) -> Any: ...


class SklearnSession(SessionBase):
    """``memory_bytes`` is the estimator's pickled size: a best-effort stand-in for the memory
    it holds, since the load happened before this session existed."""

    def __init__(self, estimator: Estimator, *, max_batch_size: int | None = None) -> None:
        super().__init__(name=type(estimator).__name__, max_batch_size=max_batch_size)
        n_features = getattr(estimator, "n_features_in_", None)
        if not isinstance(n_features, int):
            raise ValueError(
                f"{type(estimator).__name__} has no n_features_in_: serve a fitted estimator"
            )
        self._estimator = estimator
        self._proba = getattr(estimator, "predict_proba", None)
        self.signature = Signature((TensorSpec("input", "FP64", (-1, n_features)),), ())
        # The warm-up run also tells the outputs' datatypes (labels may be ints or strings).
        first = self._predict(np.zeros((1, n_features)), ["label", "probabilities"])
        self.signature = Signature(
            self.signature.inputs,
            tuple(
                TensorSpec(name, datatype_of(value.dtype), (-1, *value.shape[1:]))
                for name, value in first.items()
            ),
        )
        self.warmed_up = True
        self.memory_bytes = len(pickle.dumps(estimator))

    def run(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> dict[str, npt.NDArray[Any]]:
        return self._predict(inputs["input"], self._output_names(outputs))

    def _predict(self, rows: npt.NDArray[Any], names: list[str]) -> dict[str, npt.NDArray[Any]]:
        results: dict[str, npt.NDArray[Any]] = {}
        if "label" in names:
            labels = np.asarray(self._estimator.predict(rows))
            results["label"] = labels.astype(np.object_) if labels.dtype.kind == "U" else labels
        if "probabilities" in names and self._proba is not None:
            results["probabilities"] = np.asarray(self._proba(rows), dtype=np.float64)
        return results

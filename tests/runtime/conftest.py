"""A tiny real model, trained and exported once per session: LogisticRegression on
scikit-learn's bundled breast-cancer data, to ONNX with skl2onnx."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression


@pytest.fixture(scope="session")
def features() -> npt.NDArray[Any]:
    return np.asarray(load_breast_cancer().data, dtype=np.float64)


@pytest.fixture(scope="session")
def classifier(features: npt.NDArray[Any]) -> LogisticRegression:
    target = load_breast_cancer().target
    with warnings.catch_warnings():  # lbfgs on unscaled data: converged enough for tests
        warnings.simplefilter("ignore")
        return LogisticRegression(max_iter=200).fit(features, target)


def _export(
    model: LogisticRegression, features: npt.NDArray[Any], path: Path, zipmap: bool
) -> Path:
    onnx = to_onnx(model, features[:1].astype(np.float32), options={"zipmap": zipmap})
    path.write_bytes(onnx.SerializeToString())
    return path


@pytest.fixture(scope="session")
def onnx_path(
    classifier: LogisticRegression,
    features: npt.NDArray[Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    return _export(classifier, features, tmp_path_factory.mktemp("onnx") / "model.onnx", False)


@pytest.fixture(scope="session")
def zipmap_path(
    classifier: LogisticRegression,
    features: npt.NDArray[Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    return _export(classifier, features, tmp_path_factory.mktemp("onnx") / "zipmap.onnx", True)

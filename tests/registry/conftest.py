"""Tiny models built on the fly: a logistic regression on scikit-learn's bundled breast-cancer
data, saved as ONNX (skl2onnx), skops, a pickle and MLflow model directories."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io
import yaml
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression


@pytest.fixture(scope="session")
def fitted() -> tuple[LogisticRegression, Any]:
    data = load_breast_cancer()
    model = LogisticRegression(max_iter=5000).fit(data.data, data.target)
    return model, data


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory, fitted: tuple[Any, Any]) -> Path:
    """model.onnx, model.skops, model.pkl, train.csv, and MLflow directories of each."""
    model, data = fitted
    root = tmp_path_factory.mktemp("models")
    onnx_model = to_onnx(
        model,
        data.data[:1].astype(np.float32),
        options={id(model): {"zipmap": False}},
        target_opset=17,
    )
    (root / "model.onnx").write_bytes(onnx_model.SerializeToString())
    skops.io.dump(model, root / "model.skops")
    (root / "model.pkl").write_bytes(pickle.dumps(model))
    with (root / "train.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*data.feature_names[:3], "label"])
        for row, label in zip(data.data[:, :3], data.target, strict=True):
            writer.writerow([*row, "benign" if label else "malignant"])
    flavours = {
        "mlflow-onnx": ("model.onnx", {"onnx": {"data": "model.onnx", "onnx_version": "1.16"}}),
        "mlflow-skops": (
            "model.skops",
            {"sklearn": {"pickled_model": "model.skops", "serialization_format": "skops"}},
        ),
        "mlflow-pickle": (
            "model.pkl",
            {"sklearn": {"pickled_model": "model.pkl", "serialization_format": "cloudpickle"}},
        ),
    }
    for name, (file, flavors) in flavours.items():
        directory = root / name
        directory.mkdir()
        (directory / file).write_bytes((root / file).read_bytes())
        (directory / "MLmodel").write_text(yaml.safe_dump({"flavors": flavors}))
    return root

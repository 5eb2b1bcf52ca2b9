"""The demo's predictive model, ``demo-classifier``: a logistic regression trained on the
breast cancer dataset that scikit-learn ships (569 tumours, 30 features, no download), exported
to ONNX with one FP32 input ``X`` of shape ``[-1, 30]`` and outputs ``label`` (0 malignant,
1 benign) and ``probabilities``.

``build`` writes what ``keel models register`` takes: the model, the training split as CSV
(its statistics are the drift reference) and the held-out metrics as JSON. Training is seeded,
so every build is the same model.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["DEMO_MODEL", "DEMO_ROW", "DemoFiles", "build"]

DEMO_MODEL = "demo-classifier"
# The dataset's first row (a malignant tumour), as the demo banner sends it.
_ROW = (
    "17.99 10.38 122.8 1001.0 0.1184 0.2776 0.3001 0.1471 0.2419 0.07871 "
    "1.095 0.9053 8.589 153.4 0.006399 0.04904 0.05373 0.01587 0.03003 0.006193 "
    "25.38 17.33 184.6 2019.0 0.1622 0.6656 0.7119 0.2654 0.4601 0.1189"
)
DEMO_ROW = tuple(float(value) for value in _ROW.split())
_SEED = 0
_HELD_OUT = 0.25
# An opset every supported onnxruntime runs, whatever skl2onnx would pick by default.
_OPSET = 17


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """The files ``build`` wrote: the ONNX model, the training split, the metrics."""

    model: Path
    train_data: Path
    metrics: Path


def build(directory: Path) -> DemoFiles:
    """Train the demo model and write its files into ``directory``."""
    # Imported here: scikit-learn and skl2onnx take a second to import, paid only at the
    # first start of the demo.
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    train, test = train_test_split(
        np.arange(len(data.target)),
        test_size=_HELD_OUT,
        random_state=_SEED,
        stratify=data.target,
    )
    x_train, y_train = data.data[train].astype(np.float32), data.target[train]
    x_test, y_test = data.data[test].astype(np.float32), data.target[test]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)
    metrics: dict[str, Any] = {
        "accuracy": round(float(accuracy_score(y_test, model.predict(x_test))), 4),
        "roc_auc": round(float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])), 4),
        "held_out_rows": len(y_test),
        "dataset": "scikit-learn breast cancer (load_breast_cancer)",
    }
    # zipmap off: the probabilities come out as a tensor, which keel serves.
    onnx_model = to_onnx(model, x_train[:1], options={"zipmap": False}, target_opset=_OPSET)
    files = DemoFiles(
        directory / f"{DEMO_MODEL}.onnx", directory / "train.csv", directory / "metrics.json"
    )
    files.model.write_bytes(onnx_model.SerializeToString())
    files.metrics.write_bytes(orjson.dumps(metrics))
    # The CSV keeps the dataset's own values, not their float32 roundings.
    _write_csv(files.train_data, [str(n) for n in data.feature_names], data.data[train].tolist())
    return files


def _write_csv(path: Path, header: list[str], rows: list[list[float]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)

"""The predictive benchmark's model: a logistic regression on scikit-learn's breast-cancer data.

``export(dir)`` fits it once and writes the same fitted model twice: ``model.onnx`` (skl2onnx,
no ZipMap, opset 17, input ``X`` [-1, 30] FP32, outputs ``label`` and ``probabilities``, as
keel's own tests build it) for keel and the plain onnxruntime server, and ``model.joblib`` for
MLServer's scikit-learn runtime. Every request carries one row, the data set's first, as FP32.

Run as a script it times ``session.run`` in this process for that row at concurrency 1, and
for a batch of 32 copies (``python bench/predict_model.py --onnx model.onnx --runs N``), and
prints JSON: the floor under every HTTP number, and "one model run" of a full batch.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "MODELS",
    "MODEL_NOTE",
    "export",
    "first_row",
    "infer_body",
    "model_note",
    "time_session",
]

_EXPORT_NOTE = (
    " on sklearn's breast-cancer data (569 x 30); ONNX via skl2onnx (zipmap off, opset 17) for "
    "keel and onnxruntime; the same fitted estimator as a joblib file for MLServer's "
    "scikit-learn runtime"
)
# lr: a run is a few microseconds, far below any server's own cost per request, so batching
# has little to save. mlp: a run of one row is ~0.1 ms and of 32 rows ~1.6 ms here, the case
# where batching pays for itself.
MODELS = {
    "lr": "LogisticRegression(max_iter=5000)",
    "mlp": "StandardScaler + MLPClassifier(hidden_layer_sizes=(2048, 1024), max_iter=30)",
}
MODEL_NOTE = MODELS["lr"] + _EXPORT_NOTE


def model_note(kind: str) -> str:
    return MODELS[kind] + _EXPORT_NOTE


def first_row() -> list[float]:
    """The data set's first row, rounded through FP32 so every server sees the same values."""
    from sklearn.datasets import load_breast_cancer

    row = load_breast_cancer().data[:1].astype(np.float32)
    return [float(v) for v in row.ravel()]


def _fitted(kind: str) -> Any:
    import warnings

    from sklearn.datasets import load_breast_cancer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    if kind == "lr":
        return LogisticRegression(max_iter=5000).fit(data.data, data.target)
    mlp = MLPClassifier(hidden_layer_sizes=(2048, 1024), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 30 epochs are enough to time
        return make_pipeline(StandardScaler(), mlp).fit(data.data, data.target)


def export(directory: Path, kind: str = "lr") -> dict[str, Path]:
    """Fit the model and write model.onnx and model.joblib into ``directory``."""
    import joblib
    from skl2onnx import to_onnx
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    model = _fitted(kind)
    onnx_model = to_onnx(
        model, data.data[:1].astype(np.float32), options={"zipmap": False}, target_opset=17
    )
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"onnx": directory / "model.onnx", "joblib": directory / "model.joblib"}
    paths["onnx"].write_bytes(onnx_model.SerializeToString())
    joblib.dump(model, paths["joblib"])
    return paths


def infer_body(row: list[float], input_name: str, outputs: list[str] | None = None) -> bytes:
    """An Open Inference Protocol v2 request for one row, shape [1, 30], FP32."""
    body: dict[str, Any] = {
        "inputs": [{"name": input_name, "datatype": "FP32", "shape": [1, 30], "data": row}]
    }
    if outputs:
        body["outputs"] = [{"name": n} for n in outputs]
    return json.dumps(body, separators=(",", ":")).encode()


def _ms_percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    last = len(ordered) - 1

    def at(p: float) -> float:
        return round(ordered[min(last, int(p / 100 * len(ordered)))] * 1000, 4)

    mean = round(sum(ordered) / len(ordered) * 1000, 4)
    return {"p50": at(50), "p90": at(90), "p99": at(99), "p99.9": at(99.9), "mean": mean}


def time_session(onnx: Path, runs: int, rows: int = 1) -> dict[str, Any]:
    """session.run for ``rows`` copies of the one row, ``runs`` times after a warm-up; in ms."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # as keel runs it (predictive.models.<m>.intra_op_threads)
    session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
    x = np.asarray([first_row()] * rows, dtype=np.float32)
    names = [o.name for o in session.get_outputs()]
    for _ in range(min(500, runs)):
        session.run(names, {"X": x})
    gc.disable()  # no collector pauses in a loop that allocates only the outputs
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        session.run(names, {"X": x})
        samples.append(time.perf_counter() - started)
    gc.enable()
    return {"rows": rows, "runs": runs, "latency_ms": _ms_percentiles(samples)}


def main() -> None:
    p = argparse.ArgumentParser(description="time onnxruntime's session.run for one row")
    p.add_argument("--onnx", type=Path, required=True)
    p.add_argument("--runs", type=int, default=20000)
    p.add_argument("--batch", type=int, default=32, help="also time a run of this many rows")
    args = p.parse_args()
    import onnxruntime as ort

    single = time_session(args.onnx, args.runs)
    batch = time_session(args.onnx, max(1, args.runs // 4), args.batch)
    print(json.dumps({"onnxruntime": ort.__version__, "single": single, "batch": batch}))


if __name__ == "__main__":
    main()

"""Formats and signatures: ONNX, skops (and its untrusted types), MLflow directories, pickles
refused unless trusted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import skops.io
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from keel.registry.formats import Tensor, UnsafeArtifact, UnsupportedArtifact, detect
from tests.registry.untrusted_step import doubled

SKLEARN_INPUT = [Tensor("input", "FP64", [-1, 30])]
SKLEARN_OUTPUTS = [Tensor("label", "INT64", [-1]), Tensor("probabilities", "FP64", [-1, 2])]


def test_onnx_signature_names_types_and_dynamic_batch(models_dir: Path) -> None:
    found = detect(models_dir / "model.onnx")
    assert found.format == "onnx" and found.model_file == ""
    assert found.inputs == [Tensor("X", "FP32", [-1, 30])]
    assert found.outputs == [
        Tensor("label", "INT64", [-1]),
        Tensor("probabilities", "FP32", [-1, 2]),
    ]
    assert found.signature()["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 30]}]


def test_an_onnx_map_output_is_refused_with_how_to_export(
    models_dir: Path, fitted: Any, tmp_path: Path
) -> None:
    import numpy as np
    from skl2onnx import to_onnx

    model, data = fitted
    zipmap = to_onnx(model, data.data[:1].astype(np.float32), target_opset=17)
    (tmp_path / "z.onnx").write_bytes(zipmap.SerializeToString())
    with pytest.raises(UnsupportedArtifact, match=r"sequence_type, not a tensor.*zipmap"):
        detect(tmp_path / "z.onnx")


def test_a_damaged_onnx_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_bytes(b"not protobuf at all \xff\xff")
    with pytest.raises(UnsupportedArtifact, match="not a valid ONNX model"):
        detect(tmp_path / "bad.onnx")


def test_skops_signature_from_the_fitted_model(models_dir: Path) -> None:
    found = detect(models_dir / "model.skops")
    assert (found.format, found.inputs, found.outputs) == ("skops", SKLEARN_INPUT, SKLEARN_OUTPUTS)
    assert found.feature_names == []


def test_skops_keeps_the_feature_names_a_model_was_fitted_with(tmp_path: Path) -> None:
    import numpy as np

    model = LogisticRegression().fit([[1.0, 2.0], [3.0, 5.0], [2.0, 1.0]], [0, 1, 0])
    # What scikit-learn sets when fitted on a DataFrame (pandas is not installed here).
    model.feature_names_in_ = np.asarray(["age", "income"], dtype=object)
    skops.io.dump(model, tmp_path / "m.skops")
    found = detect(tmp_path / "m.skops")
    assert found.feature_names == ["age", "income"]
    assert found.signature()["feature_names"] == ["age", "income"]


def test_skops_types_it_does_not_trust_are_refused_by_name(fitted: Any, tmp_path: Path) -> None:
    _, data = fitted
    steps = (StandardScaler(), FunctionTransformer(doubled), LogisticRegression(max_iter=5000))
    pipeline = make_pipeline(*steps)
    skops.io.dump(pipeline.fit(data.data, data.target), tmp_path / "p.skops")
    with pytest.raises(UnsafeArtifact, match=r"tests\.registry\.untrusted_step\.doubled"):
        detect(tmp_path / "p.skops")
    assert detect(tmp_path / "p.skops", trusted=True).inputs == SKLEARN_INPUT


def test_a_pickle_is_refused_unless_trusted(models_dir: Path) -> None:
    with pytest.raises(UnsafeArtifact, match=r"runs whatever code.*ONNX.*skops"):
        detect(models_dir / "model.pkl")
    found = detect(models_dir / "model.pkl", trusted=True)
    assert (found.format, found.inputs, found.outputs) == ("pickle", SKLEARN_INPUT, SKLEARN_OUTPUTS)


def test_mlflow_directories_by_flavour(models_dir: Path) -> None:
    onnx = detect(models_dir / "mlflow-onnx")
    assert (onnx.format, onnx.model_file) == ("mlflow+onnx", "model.onnx")
    assert onnx.inputs == [Tensor("X", "FP32", [-1, 30])]
    sk = detect(models_dir / "mlflow-skops")
    assert (sk.format, sk.model_file, sk.outputs) == (
        "mlflow+skops",
        "model.skops",
        SKLEARN_OUTPUTS,
    )
    with pytest.raises(UnsafeArtifact, match="cloudpickle pickle: loading a pickle runs"):
        detect(models_dir / "mlflow-pickle")
    assert detect(models_dir / "mlflow-pickle", trusted=True).format == "mlflow+pickle"


@pytest.mark.parametrize(
    ("mlmodel", "message"),
    [
        (None, "without an MLmodel file"),
        ({"flavors": {"pytorch": {}}}, "no onnx or sklearn flavour .*pytorch"),
        ({"flavors": {"onnx": {"data": "../model.onnx"}}}, "is not a file in it"),
    ],
)
def test_an_mlflow_directory_keel_cannot_read_is_refused(
    tmp_path: Path, mlmodel: dict[str, Any] | None, message: str
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "model.onnx").write_bytes(b"x")
    if mlmodel is not None:
        (tmp_path / "outside" / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(UnsupportedArtifact, match=message):
        detect(tmp_path / "outside")


def test_an_unknown_suffix_is_refused_naming_what_works(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(UnsupportedArtifact, match=r"'\.bin'.*\.onnx or \.skops.*MLflow"):
        detect(tmp_path / "model.bin")

"""A model artifact's format and signature: the OIP tensors it takes and gives.

- ONNX (``.onnx``), preferred: inputs and outputs read from the graph, dynamic dims as -1.
- scikit-learn through skops (``.skops``): loaded with skops' own check, so only types skops
  knows to be safe are built; any other is refused by name (``trusted`` lets them through).
  One FP64 input ``input`` of shape [-1, n_features_in_]; outputs ``label`` and, for models
  with ``predict_proba``, ``probabilities``.
- an MLflow model directory (an ``MLmodel`` file) with an ``onnx`` or a ``sklearn`` flavour;
  a sklearn flavour pickled (MLflow's default) loads only when ``trusted``.
- a plain pickle or joblib file, only when ``trusted``: loading one runs whatever code it holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Detected", "Tensor", "UnsafeArtifact", "UnsupportedArtifact", "detect"]

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
# ONNX TensorProto element types -> OIP v2 datatypes.
ONNX_DATATYPES = {
    1: "FP32",
    2: "UINT8",
    3: "INT8",
    4: "UINT16",
    5: "INT16",
    6: "INT32",
    7: "INT64",
    8: "BYTES",
    9: "BOOL",
    10: "FP16",
    11: "FP64",
    12: "UINT32",
    13: "UINT64",
}
_PICKLE_REFUSED = (
    "loading a pickle runs whatever code it holds, so keel refuses it unless told it is "
    "trusted (--trusted). Export the model to ONNX (skl2onnx) or save it with skops instead."
)


class UnsupportedArtifact(ValueError):
    """Not a model keel can read, or one whose signature it cannot state."""


class UnsafeArtifact(ValueError):
    """A model that would run untrusted code to load: the message says what to use instead."""


@dataclass(frozen=True, slots=True)
class Tensor:
    """One input or output, as OIP v2 metadata names it."""

    name: str
    datatype: str  # BOOL, INT8..INT64, UINT8..UINT64, FP16, FP32, FP64, BYTES
    shape: list[int]  # -1 where the dimension is dynamic


@dataclass(frozen=True, slots=True)
class Detected:
    """What an artifact is: its format (``onnx``, ``skops``, ``pickle``, or ``mlflow+`` one
    of those), the file in it that holds the model (``""``: the artifact itself) and its
    signature; for scikit-learn, the feature names it was fitted on, if it kept them."""

    format: str
    inputs: list[Tensor]
    outputs: list[Tensor]
    model_file: str = ""
    feature_names: list[str] = field(default_factory=list)

    def signature(self) -> dict[str, Any]:
        signature: dict[str, Any] = {
            "inputs": [asdict(t) for t in self.inputs],
            "outputs": [asdict(t) for t in self.outputs],
        }
        if self.feature_names:
            signature["feature_names"] = self.feature_names
        return signature


def detect(path: Path, trusted: bool = False) -> Detected:
    """Read ``path`` (a file, or an MLflow model directory) as a model; refuse what keel
    cannot read, or may not load without ``trusted``."""
    if path.is_dir():
        return _mlflow(path, trusted)
    if not path.is_file():
        raise UnsupportedArtifact(f"{path}: no such file or directory")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return _onnx(path)
    if suffix == ".skops":
        return _skops(path, trusted)
    if suffix in PICKLE_SUFFIXES:
        return _pickle(path, trusted)
    raise UnsupportedArtifact(
        f"{path}: unknown model format {suffix or '(no suffix)'!r}; give an .onnx or .skops "
        "file, or an MLflow model directory (with its MLmodel file)"
    )


def _onnx(path: Path, model_file: str = "", prefix: str = "") -> Detected:
    import onnx

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises protobuf's DecodeError, ValidationError and others
        raise UnsupportedArtifact(f"{path} is not a valid ONNX model: {exc}") from None
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    inputs = [_onnx_tensor(path, v) for v in graph.input if v.name not in weights]
    outputs = [_onnx_tensor(path, v) for v in graph.output]
    return Detected(prefix + "onnx", inputs, outputs, model_file)


def _onnx_tensor(path: Path, value: Any) -> Tensor:
    if value.type.WhichOneof("value") != "tensor_type":
        kind = value.type.WhichOneof("value")
        raise UnsupportedArtifact(
            f"{path}: {value.name!r} is a {kind}, not a tensor; OIP serves tensors only "
            "(with skl2onnx, export classifiers with options={'zipmap': False})"
        )
    tensor = value.type.tensor_type
    datatype = ONNX_DATATYPES.get(tensor.elem_type)
    if datatype is None:
        raise UnsupportedArtifact(
            f"{path}: {value.name!r} has ONNX element type {tensor.elem_type}, which OIP v2 "
            f"has no datatype for (use one of {sorted(set(ONNX_DATATYPES.values()))})"
        )
    if not tensor.HasField("shape"):
        return Tensor(value.name, datatype, [-1])
    shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
    return Tensor(value.name, datatype, shape)


def _skops(path: Path, trusted: bool, model_file: str = "", prefix: str = "") -> Detected:
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # a damaged or foreign zip file
        raise UnsupportedArtifact(f"{path} is not a readable skops file: {exc}") from None
    if untrusted and not trusted:
        raise UnsafeArtifact(
            f"{path} holds types skops does not know to be safe: {', '.join(untrusted)}. "
            "Loading them could run their code: refit the model with scikit-learn's own "
            "estimators, export it to ONNX, or register it with --trusted if you trust them."
        )
    model = skops.io.load(path, trusted=untrusted or None)
    return _sklearn(path, model, prefix + "skops", model_file)


def _pickle(path: Path, trusted: bool, model_file: str = "", prefix: str = "") -> Detected:
    if not trusted:
        raise UnsafeArtifact(f"{path} is a pickle: {_PICKLE_REFUSED}")
    import joblib

    return _sklearn(path, joblib.load(path), prefix + "pickle", model_file)


def _sklearn(path: Path, model: Any, format: str, model_file: str) -> Detected:
    n = getattr(model, "n_features_in_", None)
    if not isinstance(n, int) or not hasattr(model, "predict"):
        raise UnsupportedArtifact(
            f"{path}: {type(model).__name__} is not a fitted scikit-learn model "
            "(no n_features_in_ or predict)"
        )
    names = [str(f) for f in getattr(model, "feature_names_in_", [])]
    outputs = [Tensor("label", _label_datatype(model), [-1])]
    classes = getattr(model, "classes_", None)
    if hasattr(model, "predict_proba") and classes is not None:
        outputs.append(Tensor("probabilities", "FP64", [-1, len(classes)]))
    return Detected(format, [Tensor("input", "FP64", [-1, n])], outputs, model_file, names)


def _label_datatype(model: Any) -> str:
    classes = getattr(model, "classes_", None)
    if classes is None:
        return "FP64"  # a regressor's prediction
    kind = getattr(getattr(classes, "dtype", None), "kind", "O")
    return {"b": "BOOL", "i": "INT64", "u": "UINT64", "f": "FP64"}.get(kind, "BYTES")


def _mlflow(directory: Path, trusted: bool) -> Detected:
    spec = _mlmodel(directory)
    flavors = spec.get("flavors") or {}
    if "onnx" in flavors:
        file = _flavour_file(directory, flavors["onnx"], "data")
        return _onnx(directory / file, file, "mlflow+")
    if "sklearn" in flavors:
        flavour = flavors["sklearn"]
        file = _flavour_file(directory, flavour, "pickled_model")
        if flavour.get("serialization_format") == "skops":
            return _skops(directory / file, trusted, file, "mlflow+")
        if not trusted:
            raise UnsafeArtifact(
                f"{directory}: its sklearn flavour is a {flavour.get('serialization_format')} "
                f"pickle: {_PICKLE_REFUSED} (with MLflow: mlflow.sklearn.save_model(..., "
                "serialization_format='skops'))"
            )
        return _pickle(directory / file, trusted, file, "mlflow+")
    raise UnsupportedArtifact(
        f"{directory}/MLmodel has no onnx or sklearn flavour (it has {sorted(flavors) or 'none'})"
    )


def _mlmodel(directory: Path) -> dict[str, Any]:
    path = directory / "MLmodel"
    if not path.is_file():
        raise UnsupportedArtifact(
            f"{directory} is a directory without an MLmodel file: give an MLflow model "
            "directory, or the model file itself"
        )
    try:
        spec = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise UnsupportedArtifact(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(spec, dict):
        raise UnsupportedArtifact(f"{path} is not an MLmodel mapping")
    return spec


def _flavour_file(directory: Path, flavour: Any, key: str) -> str:
    """The flavour's model file, which must lie inside the directory."""
    file = flavour.get(key) if isinstance(flavour, dict) else None
    if not isinstance(file, str) or not file:
        raise UnsupportedArtifact(f"{directory}/MLmodel: the flavour names no {key!r} file")
    resolved = (directory / file).resolve()
    if not resolved.is_relative_to(directory.resolve()) or not resolved.is_file():
        raise UnsupportedArtifact(f"{directory}/MLmodel: {key} {file!r} is not a file in it")
    return Path(file).as_posix()

"""A model's input/output signature (names, OIP datatypes, shapes with -1 for a dynamic
dimension) and the check of a request's inputs against it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.errors import BadRequest
from keel.runtime.datatypes import DTYPES, datatype_of

__all__ = ["Signature", "TensorSpec", "check_inputs"]


@dataclass(frozen=True, slots=True)
class TensorSpec:
    name: str
    datatype: str
    shape: tuple[int, ...]  # -1: any size

    def describe(self) -> str:
        return f"{self.datatype} {list(self.shape)}"


@dataclass(frozen=True, slots=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]


def check_inputs(
    signature: Signature, inputs: dict[str, npt.NDArray[Any]], max_batch_size: int | None
) -> None:
    """Raise ``BadRequest`` naming the first input that does not fit: an unknown or missing
    name, a wrong datatype or shape, or a first dimension over ``max_batch_size``."""
    expected = {spec.name: spec for spec in signature.inputs}
    for name in inputs:
        if name not in expected:
            raise BadRequest(
                f"input '{name}' is not an input of this model; its inputs are "
                + ", ".join(f"'{s.name}' ({s.describe()})" for s in signature.inputs)
            )
    for spec in signature.inputs:
        if spec.name not in inputs:
            raise BadRequest(f"input '{spec.name}' ({spec.describe()}) is missing")
        _check_one(spec, inputs[spec.name], max_batch_size)


def _check_one(spec: TensorSpec, array: npt.NDArray[Any], max_batch_size: int | None) -> None:
    try:
        datatype = datatype_of(array.dtype)
    except TypeError:
        datatype = str(array.dtype)
    if datatype != spec.datatype:
        raise BadRequest(f"input '{spec.name}': expected datatype {spec.datatype}, got {datatype}")
    shape = array.shape
    fits = len(shape) == len(spec.shape) and all(
        want in (-1, got) for want, got in zip(spec.shape, shape, strict=True)
    )
    if not fits:
        raise BadRequest(
            f"input '{spec.name}': expected shape {list(spec.shape)} (-1: any size), "
            f"got {list(shape)}"
        )
    if max_batch_size is not None and shape and shape[0] > max_batch_size:
        raise BadRequest(
            f"input '{spec.name}': a batch of {shape[0]} is over this model's "
            f"max_batch_size of {max_batch_size}; send at most {max_batch_size} rows per request"
        )


def zeros(signature: Signature, rows: int = 1) -> dict[str, npt.NDArray[Any]]:
    """Inputs of the signature filled with zeros (empty strings for BYTES): ``rows`` in a
    dynamic first dimension, 1 in the other dynamic ones. For warm-up and timing runs."""
    feed: dict[str, npt.NDArray[Any]] = {}
    for spec in signature.inputs:
        shape = tuple((rows if i == 0 else 1) if d == -1 else d for i, d in enumerate(spec.shape))
        if spec.datatype == "BYTES":
            feed[spec.name] = np.full(shape, "", dtype=np.object_)
        else:
            feed[spec.name] = np.zeros(shape, dtype=DTYPES[spec.datatype])
    return feed

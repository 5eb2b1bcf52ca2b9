"""The Open Inference Protocol's tensor datatypes and the numpy dtypes that hold them.

Fixed-size datatypes map to little-endian numpy dtypes (the wire order of the binary tensor
extension). A BYTES tensor is a numpy object array whose elements are Python ``bytes``; arrays
of ``str`` (or numpy ``S``/``U`` arrays), as models often return, also count as BYTES.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DTYPES", "datatype_of", "itemsize_of"]

DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "BYTES": np.dtype(np.object_),
}

_PREFIX = {"i": "INT", "u": "UINT", "f": "FP"}


def datatype_of(dtype: np.dtype[Any]) -> str:
    """The OIP datatype of a numpy dtype; TypeError for one the protocol has no name for."""
    if dtype.kind == "b":
        return "BOOL"
    if dtype.kind in "OSU":
        return "BYTES"
    name = f"{_PREFIX.get(dtype.kind, '?')}{dtype.itemsize * 8}"
    if name not in DTYPES:
        raise TypeError(f"numpy dtype {dtype} has no Open Inference Protocol datatype")
    return name


def itemsize_of(datatype: str) -> int | None:
    """Bytes per element of a fixed-size datatype; None for BYTES (each element has its own)."""
    return None if datatype == "BYTES" else DTYPES[datatype].itemsize

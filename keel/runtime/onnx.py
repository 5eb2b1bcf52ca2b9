"""An ONNX model served by onnxruntime on the CPU: its signature, a warm-up at load, runs.

Only tensor inputs and outputs fit the Open Inference Protocol. A model with a non-tensor
input is refused at load; non-tensor outputs (for example skl2onnx's ZipMap of class
probabilities, a sequence of maps) are left out of the signature and never computed: export
with ``zipmap=False`` to serve probabilities as a tensor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from keel.runtime.signature import Signature, TensorSpec, zeros
from keel.runtime.worker import SessionBase

__all__ = ["OnnxSession", "rss_bytes"]

_ONNX_DATATYPES = {
    "tensor(bool)": "BOOL",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


class OnnxSession(SessionBase):
    """One ONNX artifact loaded once, with ``intra_op_threads`` for each run (default 1) and
    no inter-op parallelism. ``memory_bytes`` is the process's RSS growth over the load and
    warm-up: a best effort, blurred by anything else that allocates meanwhile."""

    def __init__(
        self,
        path: str | Path,
        *,
        intra_op_threads: int = 1,
        max_batch_size: int | None = None,
    ) -> None:
        super().__init__(name=Path(path).stem, max_batch_size=max_batch_size)
        before = rss_bytes()
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.signature = _signature_of(self._session, path)
        self.run(zeros(self.signature))
        self.warmed_up = True
        after = rss_bytes()
        self.memory_bytes = None if before is None or after is None else max(0, after - before)

    def run(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> dict[str, npt.NDArray[Any]]:
        names = self._output_names(outputs)
        feed = {name: _onnx_value(array) for name, array in inputs.items()}
        results = self._session.run(names, feed)
        return {name: np.asarray(result) for name, result in zip(names, results, strict=True)}


def _signature_of(session: ort.InferenceSession, path: str | Path) -> Signature:
    inputs = []
    for arg in session.get_inputs():
        if arg.type not in _ONNX_DATATYPES:
            raise ValueError(
                f"{path}: input '{arg.name}' is of type {arg.type}, which the Open Inference "
                "Protocol cannot carry; only tensors of its datatypes can be served"
            )
        inputs.append(_spec(arg))
    outputs = [_spec(arg) for arg in session.get_outputs() if arg.type in _ONNX_DATATYPES]
    if not outputs:
        raise ValueError(f"{path}: the model has no tensor output to serve")
    return Signature(tuple(inputs), tuple(outputs))


def _spec(arg: Any) -> TensorSpec:
    # A dynamic dimension is None or a symbolic name ("N", "batch_size"): both are -1.
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in arg.shape)
    return TensorSpec(arg.name, _ONNX_DATATYPES[arg.type], shape)


def _onnx_value(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """onnxruntime reads string tensors as ``str``: BYTES elements are decoded from UTF-8."""
    if array.dtype != np.object_:
        return array
    decoded = np.empty(array.shape, dtype=np.object_)
    decoded.flat[:] = [e.decode() if isinstance(e, bytes) else e for e in array.flat]
    return decoded


def rss_bytes() -> int | None:
    """This process's resident set size, where /proc tells it (Linux); else None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None

"""Model sessions for serving predictive models: one loaded model, its signature, and runs.

``keel.runtime.onnx.OnnxSession`` wraps an onnxruntime session, ``keel.runtime.sklearn.
SklearnSession`` a fitted scikit-learn estimator; both are ``Session``s. Backends are imported
from their modules, so importing this package loads neither onnxruntime nor scikit-learn.

Runs are CPU-bound. ``run`` blocks; ``run_async`` runs it on the session's own single worker
thread, so the event loop is never blocked and one session's runs never overlap (a session's
parallelism is onnxruntime's intra-op threads, and batching, not concurrent runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy.typing as npt

from keel.runtime.signature import Signature, TensorSpec

__all__ = ["Prediction", "Session", "Signature", "TensorSpec"]


@dataclass(slots=True)
class Prediction:
    """What a predictive model is asked (named input tensors, the outputs wanted: all when
    None), which of its versions answered and what it answered (``answered``: the output
    tensors, for the monitors; a reference, never a copy)."""

    inputs: dict[str, npt.NDArray[Any]]
    outputs: list[str] | None = None
    version: int | None = None
    answered: dict[str, npt.NDArray[Any]] | None = None


@runtime_checkable
class Session(Protocol):
    """A loaded model, warmed up, ready to run."""

    signature: Signature
    max_batch_size: int | None
    memory_bytes: int | None  # best effort: what loading it cost, None when unknown
    warmed_up: bool
    inline: bool  # runs on the caller's thread: its runs are shorter than a thread hop
    idle_run_s: float | None  # what calibrate measured

    def calibrate(self, rows: int, inline_below_s: float) -> float:
        """Time a run of ``rows`` rows on the idle model; run inline if it is that fast."""
        ...

    def check(self, inputs: dict[str, npt.NDArray[Any]]) -> None:
        """Raise ``BadRequest`` naming the input that does not fit the signature."""
        ...

    def run(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> dict[str, npt.NDArray[Any]]:
        """The named outputs (all when None) for inputs that passed ``check``."""
        ...

    async def run_async(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> dict[str, npt.NDArray[Any]]:
        """``run`` on the session's own worker thread."""
        ...

    async def run_timed(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> tuple[dict[str, npt.NDArray[Any]], float]:
        """``run_async``, and how long the run itself took, in seconds."""
        ...

    def close(self) -> None:
        """Stop the worker thread."""
        ...

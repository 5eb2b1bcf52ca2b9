"""The part every session shares: its one worker thread for ``run_async``, and the check.

A model whose run is shorter than a thread hop runs on the event loop itself (``calibrate``):
handing a few microseconds of work to a thread costs more than the work, and the thread then
waits for the interpreter lock that the busy loop holds, up to its switch interval (5 ms).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy.typing as npt

from keel.errors import BadRequest
from keel.runtime.signature import Signature, check_inputs, zeros

__all__ = ["SessionBase"]

CALIBRATION_RUNS = 5


class SessionBase(ABC):
    """A session's signature, its limit and its own worker thread; a backend adds ``run``."""

    signature: Signature
    max_batch_size: int | None
    memory_bytes: int | None
    warmed_up: bool

    def __init__(self, *, name: str, max_batch_size: int | None) -> None:
        self.max_batch_size = max_batch_size
        self.warmed_up = False
        self.inline = False  # runs on the caller's thread (see calibrate)
        self.idle_run_s: float | None = None
        # One thread per session: runs of one model are serialised, the event loop never waits.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"keel-run-{name}")

    def check(self, inputs: dict[str, npt.NDArray[Any]]) -> None:
        check_inputs(self.signature, inputs, self.max_batch_size)

    @abstractmethod
    def run(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> dict[str, npt.NDArray[Any]]:
        """The named outputs (all when None) for inputs that passed ``check``."""

    def calibrate(self, rows: int, inline_below_s: float) -> float:
        """Time a run of ``rows`` rows of zeros (the fastest of a few, on an idle model); run
        on the caller's thread from now on if it takes at most ``inline_below_s``."""
        feed = zeros(self.signature, rows)
        best = min(self._timed(feed, None)[1] for _ in range(CALIBRATION_RUNS))
        self.idle_run_s = best
        self.inline = best <= inline_below_s
        return best

    async def run_async(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> dict[str, npt.NDArray[Any]]:
        if self.inline:
            return self.run(inputs, outputs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self.run, inputs, outputs)

    async def run_timed(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> tuple[dict[str, npt.NDArray[Any]], float]:
        """``run_async``, and the seconds the run itself took: on the worker thread, its CPU
        time there, so neither the hops to and from it nor its waits for the interpreter lock
        count (onnxruntime's extra intra-op threads are not counted either)."""
        if self.inline:
            return self._timed(inputs, outputs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._cpu_timed, inputs, outputs)

    def _timed(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None
    ) -> tuple[dict[str, npt.NDArray[Any]], float]:
        started = time.perf_counter()
        results = self.run(inputs, outputs)
        return results, time.perf_counter() - started

    def _cpu_timed(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None
    ) -> tuple[dict[str, npt.NDArray[Any]], float]:
        started = time.thread_time()
        results = self.run(inputs, outputs)
        return results, time.thread_time() - started

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def _output_names(self, outputs: list[str] | None) -> list[str]:
        """The requested outputs, all when None; BadRequest for one the model lacks."""
        known = self.signature.output_names()
        if outputs is None:
            return known
        for name in outputs:
            if name not in known:
                raise BadRequest(
                    f"output '{name}' is not an output of this model; its outputs are "
                    + ", ".join(f"'{n}'" for n in known)
                )
        return outputs

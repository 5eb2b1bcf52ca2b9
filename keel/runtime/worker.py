"""The part every session shares: its one worker thread for ``run_async``, and the check."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy.typing as npt

from keel.errors import BadRequest
from keel.runtime.signature import Signature, check_inputs

__all__ = ["SessionBase"]


class SessionBase(ABC):
    """A session's signature, its limit and its own worker thread; a backend adds ``run``."""

    signature: Signature
    max_batch_size: int | None
    memory_bytes: int | None
    warmed_up: bool

    def __init__(self, *, name: str, max_batch_size: int | None) -> None:
        self.max_batch_size = max_batch_size
        self.warmed_up = False
        # One thread per session: runs of one model are serialised, the event loop never waits.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"keel-run-{name}")

    def check(self, inputs: dict[str, npt.NDArray[Any]]) -> None:
        check_inputs(self.signature, inputs, self.max_batch_size)

    @abstractmethod
    def run(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> dict[str, npt.NDArray[Any]]:
        """The named outputs (all when None) for inputs that passed ``check``."""

    async def run_async(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> dict[str, npt.NDArray[Any]]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self.run, inputs, outputs)

    async def run_timed(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None = None
    ) -> tuple[dict[str, npt.NDArray[Any]], float]:
        """``run_async``, and the seconds the run itself took on the worker thread (not the
        hops to and from it, which grow with the event loop's load)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._timed, inputs, outputs)

    def _timed(
        self, inputs: dict[str, npt.NDArray[Any]], outputs: list[str] | None
    ) -> tuple[dict[str, npt.NDArray[Any]], float]:
        started = time.perf_counter()
        results = self.run(inputs, outputs)
        return results, time.perf_counter() - started

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

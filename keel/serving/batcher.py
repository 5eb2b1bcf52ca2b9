"""Adaptive batching of one model session: concurrent requests merged into one run, split back.

Requests wait in one queue. The oldest leads the next batch; requests behind it that ask for the
same outputs with inputs of the same names, dtypes and non-batch dimensions join it, in arrival
order, while the batch has room. A batch is sent when it has ``max_batch_size`` rows or when its
oldest request has waited ``max_wait_ms``; a request larger than ``max_batch_size`` runs alone.
Each caller gets exactly its own rows back, in order.

Runs are serialised (the session has one worker thread), so while one runs the next batch fills:
the busier the model, the bigger its batches. A request that the queue ahead of it cannot let
through within ``max_wait_ms`` and one run (by a moving average of recent runs, timed on the
worker thread: the hops to it and back grow with the event loop's load, not the model's), or
that would push the queue over its bound, is refused at once with ``Overloaded`` rather than
left waiting.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.errors import BadRequest, KeelError, Overloaded
from keel.runtime import Session

__all__ = ["Batcher"]

log = logging.getLogger("keel.serving")

Tensors = dict[str, npt.NDArray[Any]]

RUN_TIME_WEIGHT = 0.2  # of the newest run in the moving average of run times
QUEUE_BATCHES = 8  # the default queue bound, in batches of max_batch_size rows


@dataclass(eq=False, slots=True)
class _Request:
    inputs: Tensors
    outputs: list[str] | None
    rows: int
    key: Hashable  # requests of one key can share a run
    arrived: float
    future: asyncio.Future[Tensors] = field(init=False)

    def __post_init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()


class Batcher:
    """Batches the runs of one ``Session``.

    ``on_batch(size, wait_s)`` is called for every run sent: its rows and how long its oldest
    request waited. ``max_queue_rows`` bounds the rows waiting (default 8 batches); an empty
    queue takes any request. ``run_ms`` is the run-time estimate to start from, until runs are
    measured.
    """

    def __init__(
        self,
        session: Session,
        *,
        max_batch_size: int,
        max_wait_ms: float,
        max_queue_rows: int | None = None,
        run_ms: float = 0.0,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        if max_batch_size < 1 or max_wait_ms < 0 or run_ms < 0:
            raise ValueError("max_batch_size must be at least 1, max_wait_ms and run_ms >= 0")
        self.session = session
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000
        self.max_queue_rows = max_queue_rows or QUEUE_BATCHES * max_batch_size
        self.run_s = run_ms / 1000
        self.on_batch = on_batch
        self._queue: deque[_Request] = deque()
        self._changed = asyncio.Event()
        self._running = False
        self._drain: asyncio.Task[None] | None = None

    @property
    def queued_rows(self) -> int:
        return sum(r.rows for r in self._queue)

    async def run(self, inputs: Tensors, outputs: list[str] | None = None) -> Tensors:
        """The named outputs (all when None) for inputs that passed the session's ``check``,
        run in a batch with other requests."""
        loop = asyncio.get_running_loop()
        request = _Request(inputs, outputs, _rows_of(inputs), _key_of(inputs, outputs), loop.time())
        self._admit(request)
        self._queue.append(request)
        self._changed.set()
        if self._drain is None:
            self._drain = asyncio.create_task(self._drain_queue())
        try:
            return await request.future
        except asyncio.CancelledError:
            if request in self._queue:  # not sent yet: it leaves the queue
                self._queue.remove(request)
                self._changed.set()
            raise

    def _admit(self, request: _Request) -> None:
        """Refuse a request that would overflow the queue or wait past the latency bound."""
        queued = self.queued_rows
        ahead = self._batches_ahead(request)
        if queued and queued + request.rows > self.max_queue_rows:
            raise Overloaded(
                f"The model's queue is full ({queued} rows waiting, at most "
                f"{self.max_queue_rows}); retry shortly.",
                retry_after_s=self._retry_after(ahead),
            )
        if ahead * self.run_s > self.max_wait_s:
            raise Overloaded(
                f"The model cannot answer within its latency bound: {ahead} runs are ahead of "
                "this request; retry shortly.",
                retry_after_s=self._retry_after(ahead),
            )

    def _batches_ahead(self, request: _Request) -> int:
        """The runs before the one that would answer ``request``: the one running, and the
        batches the queue (with ``request`` in it) makes, less one."""
        rows: Counter[Hashable] = Counter()
        for waiting in (*self._queue, request):
            rows[waiting.key] += waiting.rows
        batches = sum(max(1, math.ceil(n / self.max_batch_size)) for n in rows.values())
        return batches - 1 + self._running

    def _retry_after(self, runs: int) -> int:
        return max(1, math.ceil(runs * self.run_s))

    async def _drain_queue(self) -> None:
        try:
            while self._queue:
                await self._until_ready()
                batch = self._take_batch()
                if batch:
                    await self._run_batch(batch)
        finally:
            self._drain = None

    async def _until_ready(self) -> None:
        """Wait until the oldest request's batch is full or the request has waited long enough."""
        loop = asyncio.get_running_loop()
        while self._queue:
            head = self._queue[0]
            deadline = head.arrived + self.max_wait_s
            rows = sum(r.rows for r in self._queue if r.key == head.key)
            if rows >= self.max_batch_size or loop.time() >= deadline:
                return
            self._changed.clear()
            try:
                async with asyncio.timeout_at(deadline):
                    await self._changed.wait()
            except TimeoutError:
                return

    def _take_batch(self) -> list[_Request]:
        """The oldest request and those of its key behind it that fit, out of the queue."""
        if not self._queue:
            return []
        head = self._queue[0]
        batch, rows = [head], head.rows
        for request in list(self._queue)[1:]:
            if request.key != head.key:
                continue
            if rows + request.rows > self.max_batch_size:
                break
            batch.append(request)
            rows += request.rows
        taken = {id(r) for r in batch}
        self._queue = deque(r for r in self._queue if id(r) not in taken)
        return batch

    async def _run_batch(self, batch: list[_Request]) -> None:
        """One run for the batch; each request gets its rows, or the run's exception."""
        rows = sum(r.rows for r in batch)
        self._report(rows, asyncio.get_running_loop().time() - batch[0].arrived)
        self._running = True
        try:
            outputs, run_s = await self.session.run_timed(_merge(batch), batch[0].outputs)
            answers = _split(outputs, batch, rows)
        except Exception as exc:  # the session's error is every request's error
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        finally:
            self._running = False
        self._measured(run_s)
        for request, answer in zip(batch, answers, strict=True):
            if not request.future.done():  # a caller cancelled after sending: dropped
                request.future.set_result(answer)

    def _report(self, rows: int, wait_s: float) -> None:
        if self.on_batch is None:
            return
        try:
            self.on_batch(rows, wait_s)
        except Exception:  # observability must not fail predictions
            log.exception("the batcher's on_batch callback failed")

    def _measured(self, run_s: float) -> None:
        if self.run_s == 0:
            self.run_s = run_s
        else:
            self.run_s += RUN_TIME_WEIGHT * (run_s - self.run_s)


def _rows_of(inputs: Tensors) -> int:
    """The first dimension every input shares; BadRequest when they do not share one."""
    firsts = {array.shape[0] if array.ndim else -1 for array in inputs.values()}
    if len(firsts) != 1 or -1 in firsts:
        raise BadRequest(
            "The inputs of one request must share their first (batch) dimension; got "
            + ", ".join(f"'{n}': {list(a.shape)}" for n, a in inputs.items())
        )
    return int(firsts.pop())


def _key_of(inputs: Tensors, outputs: list[str] | None) -> Hashable:
    """What requests must share to run together: outputs, and each input's dtype and shape
    past the batch dimension."""
    tensors = tuple((n, a.dtype.str, a.shape[1:]) for n, a in sorted(inputs.items()))
    return (None if outputs is None else tuple(outputs), tensors)


def _merge(batch: list[_Request]) -> Tensors:
    if len(batch) == 1:
        return batch[0].inputs
    return {name: np.concatenate([r.inputs[name] for r in batch]) for name in batch[0].inputs}


def _split(outputs: Tensors, batch: list[_Request], rows: int) -> list[Tensors]:
    """Each request's rows of the outputs, in batch order."""
    if len(batch) == 1:
        return [outputs]
    for name, array in outputs.items():
        if array.ndim == 0 or array.shape[0] != rows:
            raise KeelError(
                f"output '{name}' has shape {list(array.shape)} for a batch of {rows} rows: "
                "this model's outputs are not per row, so it cannot be batched; turn its "
                "batching off."
            )
    answers, start = [], 0
    for request in batch:
        end = start + request.rows
        answers.append({name: array[start:end] for name, array in outputs.items()})
        start = end
    return answers

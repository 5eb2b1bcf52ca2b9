"""Shadow predictions: what the champion answered, asked again of a rollout's shadow version,
off the hot path, so a challenger is judged on real traffic before it takes any.

The champion's answer is sent first; its copy waits in a bounded queue (``predictive.
shadow_queue``) and one worker runs the copies in turn on the shadow version's session (not
through its batcher: a copy never takes a batch place from a real request). A full queue drops
the copy, counted in ``keel_shadow_dropped_total{deployment="NAME:VERSION"}``, so the client
never waits. Each copy runs through the account stage like every call: a usage record (and
audit record) of kind ``shadow`` with the real request's id, its deployment naming the shadow
version. Whether the two versions decided alike is counted per row in
``keel_shadow_agreement_total{model, champion, shadow, outcome="same"|"different"}``: the
``label`` output if the model has one, else its first output (the argmax of a score matrix).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.answer import Answer
from keel.call import Call
from keel.monitor.metrics import Metrics
from keel.pipeline import Pipeline, Stage
from keel.runtime import Prediction, Session
from keel.store.models import ModelVersion

__all__ = ["ShadowPredictions", "agreement"]

log = logging.getLogger("keel.serving")

Tensors = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True, slots=True)
class Copy:
    call: Call  # the real call, answered by the champion
    champion: int
    shadow: ModelVersion
    answer: Tensors  # the champion's outputs


class ShadowPredictions:
    """The queue of shadow copies and the worker that runs them."""

    def __init__(
        self,
        session: Callable[[ModelVersion], Awaitable[Session]],
        stages: Sequence[Stage],
        metrics: Metrics | None = None,
        size: int = 64,
    ) -> None:
        """``stages``: what a copy runs through (the account)."""
        self.session = session
        self.stages = tuple(stages)
        self.metrics = metrics
        self.queue: asyncio.Queue[Copy] = asyncio.Queue(size)
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def offer(self, call: Call, champion: int, shadow: ModelVersion, answer: Tensors) -> None:
        """Queue a copy of an answered call, or drop it (counted) if the queue is full."""
        try:
            self.queue.put_nowait(Copy(call, champion, shadow, answer))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.metrics is not None:
                self.metrics.shadow_dropped.labels(_deployment(shadow)).inc()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._work(), name="keel-shadow-predictions")

    async def close(self) -> None:
        """Stop; copies still queued are dropped (nobody waits for them)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drain(self) -> None:
        """Wait until every queued copy has run (for tests and a clean shutdown)."""
        await self.queue.join()

    async def _work(self) -> None:
        while True:
            copy = await self.queue.get()
            try:
                await self.run(copy)
            except Exception:  # a copy's failure is recorded by the account; this is keel's
                log.exception("a shadow prediction failed inside keel")
            finally:
                self.queue.task_done()

    async def run(self, copy: Copy) -> None:
        """Run one copy through the stages, its shadow version for invoker."""
        call = copy.call
        assert call.prediction is not None
        asked = Prediction(call.prediction.inputs, call.prediction.outputs)
        twin = Call(
            id=call.id,  # as recorded: a taken id is replaced when the real call commits
            endpoint=call.endpoint,
            body=call.body,
            model=call.model,
            stream=False,
            principal=call.principal,
            data_class=call.data_class,
            kind="shadow",
            prediction=asked,
            copy_of=call,
        )
        await Pipeline(self.stages, partial(self._invoke, copy)).run(twin)

    async def _invoke(self, copy: Copy, twin: Call) -> Answer:
        prediction = twin.prediction
        assert prediction is not None
        record = copy.shadow
        twin.deployment = _deployment(record)
        prediction.version = record.version
        session = await self.session(record)
        started = time.perf_counter()
        try:
            outputs = await session.run_async(prediction.inputs, prediction.outputs)
        finally:
            twin.upstream_s = time.perf_counter() - started
        prediction.answered = outputs
        self._count(copy, outputs)
        return Answer(tensors=outputs)

    def _count(self, copy: Copy, outputs: Tensors) -> None:
        if self.metrics is None:
            return
        same, different = agreement(copy.answer, outputs)
        labels = (copy.shadow.name, str(copy.champion), str(copy.shadow.version))
        if same:
            self.metrics.shadow_agreement.labels(*labels, "same").inc(same)
        if different:
            self.metrics.shadow_agreement.labels(*labels, "different").inc(different)


def agreement(champion: Tensors, shadow: Tensors) -> tuple[int, int]:
    """(rows decided alike, rows decided differently): by ``label`` if the answer has it,
    else by its first output; a float score matrix (a column per class) by its argmax."""
    name = "label" if "label" in champion else next(iter(champion), None)
    if name is None or name not in shadow:
        return 0, 0
    a, b = _decision(champion[name]), _decision(shadow[name])
    if a.shape != b.shape:
        return 0, len(a)
    alike = (a == b).reshape(len(a), -1).all(axis=1)
    same = int(alike.sum())
    return same, len(alike) - same


def _decision(tensor: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if tensor.ndim == 0:
        return tensor.reshape(1)
    if tensor.dtype.kind == "f" and tensor.ndim >= 2 and tensor.shape[-1] > 1:
        return np.asarray(tensor.argmax(axis=-1))
    return tensor


def _deployment(record: ModelVersion) -> str:
    return f"{record.name}:{record.version}"

"""The monitors' tap: finished calls, read off the hot path.

The account stage offers every finished call (``Tap.offer``: an append to a bounded queue,
nothing else, so a call never waits for a monitor). On the loop's next turn each call goes to
each monitor's ``read`` (cheap, synchronous: it copies what it needs, never the text unless its
data class allows it) and calls each monitor's ``tick`` every ``TICK_S`` (writes to the store,
checks windows, fires alerts). A monitor that raises is logged and keeps its place; a queue
that is full drops the call and counts it (``keel_monitor_dropped{monitor="tap"}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from keel.call import Call
from keel.monitor.metrics import Metrics

__all__ = ["Monitor", "Tap"]

log = logging.getLogger("keel.monitor")

TICK_S = 1.0  # how often monitors tick
DRAIN_S = 0.2  # how often the queue is drained


class Monitor(Protocol):
    name: str

    def read(self, call: Call) -> None:
        """Take what this monitor needs of one finished call (on the event loop: be quick)."""
        ...

    async def tick(self, now: float) -> None:
        """Periodic work: store what was read, evaluate windows, alert."""
        ...

    async def close(self) -> None:
        """Store what is still held; called once at shutdown."""
        ...


class Tap:
    def __init__(self, monitors: Sequence[Monitor], size: int, metrics: Metrics) -> None:
        self.monitors = tuple(monitors)
        self.size = size
        self.metrics = metrics
        self.queue: deque[Call] = deque()
        self._task: asyncio.Task[None] | None = None
        self._scheduled = False

    def offer(self, call: Call) -> None:
        """On the hot path: keep the call for the monitors, or drop it when they lag. The
        queue is drained on the loop's next turn, after the call's answer is on its way: a
        call held longer outlives the collector's young generations, and later collections
        walk it again."""
        queue = self.queue
        if len(queue) < self.size:
            queue.append(call)
            if not self._scheduled and self._task is not None:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._drain_soon)
        else:
            self.metrics.monitor_dropped.labels("tap").inc()

    def _drain_soon(self) -> None:
        self._scheduled = False
        self.drain()

    async def start(self) -> None:
        if self.monitors and self._task is None:
            self._task = asyncio.create_task(self._run(), name="keel-monitors")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.drain()
        for monitor in self.monitors:
            try:
                await monitor.close()
            except Exception:
                log.exception("monitor %s failed to close", monitor.name)

    def drain(self) -> int:
        """Hand every queued call to every monitor; how many there were."""
        queue, count = self.queue, 0
        while queue:
            call = queue.popleft()
            count += 1
            for monitor in self.monitors:
                try:
                    monitor.read(call)
                except Exception:
                    log.exception("monitor %s failed to read call %s", monitor.name, call.id)
        return count

    async def tick(self, now: float | None = None) -> None:
        """Drain, then every monitor's periodic work (tests call this directly)."""
        self.drain()
        at = time.time() if now is None else now
        for monitor in self.monitors:
            try:
                await monitor.tick(at)
            except Exception:
                log.exception("monitor %s failed its periodic work", monitor.name)

    async def _run(self) -> None:
        last = 0.0
        while True:
            await asyncio.sleep(DRAIN_S)
            self.drain()
            now = time.monotonic()
            if now - last >= TICK_S:
                last = now
                await self.tick()

"""Settles the state backend missed: a call's holds are given back once it takes them again.

While the backend is down, each finished call's settles wait here (the latest 100,000), retried
every second in order and once more at close; one the backend refuses for another reason is
logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from keel.state.base import BackendUnavailable, Settle, StateBackend

__all__ = ["PendingSettles"]

log = logging.getLogger("keel.admit")

_PENDING_MAX = 100_000  # settles kept for retry while the state backend is down


class PendingSettles:
    def __init__(self, state: StateBackend) -> None:
        self.state = state
        # (settles, token, when the call's record was committed)
        self._queue: deque[tuple[list[Settle], str, int]] = deque(maxlen=_PENDING_MAX)
        self._task: asyncio.Task[None] | None = None

    def add(self, settles: list[Settle], token: str, recorded_ms: int) -> None:
        self._queue.append((settles, token, recorded_ms))

    def start(self) -> None:
        self._task = asyncio.create_task(self._retry())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    async def flush(self) -> None:
        """Apply what is queued, oldest first, until the backend is unavailable again."""
        while self._queue:
            settles, token, recorded_ms = self._queue[0]
            try:
                await self.state.settle(settles, token, recorded_ms)
            except BackendUnavailable:
                return
            except Exception:
                log.exception("a settle could not be applied; it is dropped")
            self._queue.popleft()

    async def _retry(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.flush()

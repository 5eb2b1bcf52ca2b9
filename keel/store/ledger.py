"""Group commit for usage records.

Each request hands its record to the ledger and waits until a transaction holding it has
committed. One writer task takes everything queued at that moment and commits it in one
transaction, so concurrent requests share a commit instead of queueing behind each other's.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from keel.store.base import Store

__all__ = ["Ledger", "RecordNotCommitted"]

log = logging.getLogger("keel.ledger")


class RecordNotCommitted(Exception):
    """The store refused or could not be reached; the record was not committed."""


class Ledger:
    def __init__(self, store: Store, batch_max: int = 512, attempts: int = 3) -> None:
        self.store = store
        self.batch_max = batch_max
        self.attempts = attempts
        self._pending: deque[tuple[dict[str, Any], asyncio.Future[None]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.commits = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="keel-ledger")

    def submit(self, row: dict[str, Any]) -> asyncio.Future[None]:
        """Queue a record; the future resolves once it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A client that went away no longer awaits its future; its failure is logged, not lost.
        future.add_done_callback(_retrieve)
        self._pending.append((row, future))
        self._wake.set()
        return future

    async def record(self, row: dict[str, Any]) -> None:
        # Shielded: a client that goes away must not cancel the commit of its own record.
        await asyncio.shield(self.submit(row))

    async def close(self) -> None:
        """Commit whatever is queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [
                self._pending.popleft() for _ in range(min(self.batch_max, len(self._pending)))
            ]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        error: BaseException | None = None
        for attempt in range(self.attempts):
            try:
                await self.store.write_usage([row for row, _ in batch])
            except Exception as exc:
                error = exc
                log.warning(
                    "usage commit failed (try %d of %d): %s", attempt + 1, self.attempts, exc
                )
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            self.commits += 1
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
            return
        for _, future in batch:
            if not future.done():
                future.set_exception(RecordNotCommitted(str(error)))


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()

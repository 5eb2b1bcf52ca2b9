"""Group commit for usage and audit records.

Each request hands its records to the ledger (with the Response it stores, if it stores one: it
commits with them, or neither does) and waits until a transaction holding them has committed.
One writer task takes everything queued at that moment and commits it in one transaction, so
concurrent requests share a commit instead of queueing behind each other's.

The writer task also keeps this process's audit chain, through its ``ChainKeeper``
(keel.store.audit; keel.audit.trail.Trail is the one): it links a batch's audit records as it
takes the batch, commits them in the transaction of the batch's usage rows, and moves the
chain's head only once that transaction has committed. At start, every ``checkpoint_s`` (when
idle too) and at close, the head a transaction leads to is signed and the checkpoint committed
with it, so a checkpoint never names a record that is not stored. Each checkpoint vouches for
the other writers' checkpoints the keeper has seen in the store, and the keeper hears of each
one committed (to number the next and append it to the witness file).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

from keel.store.audit import ChainKeeper, Head, Vouch
from keel.store.base import Store
from keel.store.request_ids import Taken, settle_taken

__all__ = ["Ledger", "RecordNotCommitted"]

log = logging.getLogger("keel.ledger")

Record = dict[str, Any]
# A usage row, an audit record (either may be absent), who waits for their commit, and the
# call's stored Response row (keel.store.response_sql.response_row), if any.
Item = tuple[Record | None, Record | None, asyncio.Future[None], Record | None]


class RecordNotCommitted(Exception):
    """The store refused or could not be reached; the record was not committed."""


class Ledger:
    def __init__(
        self,
        store: Store,
        batch_max: int = 512,
        attempts: int = 3,
        trail: ChainKeeper | None = None,
    ) -> None:
        self.store = store
        self.batch_max = batch_max
        self.attempts = attempts
        self.trail = trail
        self._pending: deque[Item] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._checkpoint_due = False
        self._closing = False
        self.commits = 0

    @property
    def audited(self) -> bool:
        """Whether records get an audit record too (``audit.enabled``)."""
        return self.trail is not None

    async def start(self) -> None:
        if self.trail is not None:
            # A chain is signed from its start (seq 0): records of a writer that has no
            # checkpoint at all were not written by keel.
            vouch = await self._seen(self.trail, starting=True)
            row = self.trail.checkpoint(self.trail.head, vouch=vouch)
            await self.store.write([], [], [row])
            await self.trail.checkpointed(row, vouch)
            self._ticker = asyncio.create_task(self._tick(self.trail), name="keel-checkpoints")
        self._task = asyncio.create_task(self._run(), name="keel-ledger")

    def submit(
        self, row: Record | None, audit: Record | None = None, response: Record | None = None
    ) -> asyncio.Future[None]:
        """Queue a usage row and/or an audit record (and a stored Response's row); the future
        resolves once they are committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A client that went away no longer awaits its future; its failure is logged, not lost.
        future.add_done_callback(_retrieve)
        self._pending.append((row, audit if self.trail is not None else None, future, response))
        self._wake.set()
        return future

    async def record(
        self, row: Record, audit: Record | None = None, response: Record | None = None
    ) -> None:
        # Shielded: a client that goes away must not cancel the commit of its own record.
        await asyncio.shield(self.submit(row, audit, response))

    async def audit(self, record: Record) -> None:
        """Commit one audit record with no usage row (an admin action, say) through this
        process's chain; ``ts`` defaults to now. Does nothing when the trail is off."""
        if self.trail is None:
            return
        self.trail.check(record)
        await asyncio.shield(self.submit(None, {"ts": time.time(), **record}))

    async def checkpoint(self) -> None:
        """Sign the chain's head after everything queued now; return once it is committed."""
        if self.trail is None:
            return
        self._checkpoint_due = True
        await asyncio.shield(self.submit(None, None))

    async def close(self) -> None:
        """Commit whatever is queued with a last checkpoint, then stop."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        self._closing = True
        self._checkpoint_due = self.trail is not None
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self.trail is not None:  # sign the end: a record after this head is forged
            try:
                vouch = await self._seen(self.trail)
                row = self.trail.checkpoint(self.trail.head, True, vouch)
                await self.store.write([], [], [row])
                await self.trail.checkpointed(row, vouch)
            except Exception as exc:  # the store is gone: verify sees a killed writer instead
                log.warning(
                    "audit chain %s: final checkpoint not stored: %s", self.trail.writer, exc
                )

    async def _tick(self, trail: ChainKeeper) -> None:
        while True:
            await asyncio.sleep(trail.checkpoint_s)
            self._checkpoint_due = True
            self._wake.set()

    async def _run(self) -> None:
        while True:
            if not self._pending and not self._checkpoint_due:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [
                self._pending.popleft() for _ in range(min(self.batch_max, len(self._pending)))
            ]
            await self._commit(batch)

    async def _commit(self, batch: list[Item]) -> None:
        usage = [row for row, _, _, _ in batch if row is not None]
        records = [audit for _, audit, _, _ in batch if audit is not None]
        stored = [response for _, _, _, response in batch if response is not None]
        # A checkpoint that fails with its batch waits for the next tick, not a tight loop.
        checkpoint, self._checkpoint_due = self._checkpoint_due, False
        vouch = await self._seen(self.trail) if checkpoint and self.trail is not None else None
        try:
            head, signed = await self._write(usage, records, vouch, stored)
        except Exception as exc:
            if self.store.refused_value(exc) and len(batch) > 1:
                # One row's value the store refuses must not cost the others their records:
                # commit each half on its own (each relinks onto the head committed by then,
                # so the chain stays whole) until the bad row stands alone and alone fails.
                middle = len(batch) // 2
                await self._commit(batch[:middle])
                await self._commit(batch[middle:])
                return
            _refuse(batch, exc)
            return
        if self.trail is not None:
            self.trail.advance(head)
            if signed and vouch is not None:
                await self.trail.checkpointed(signed[0], vouch)
        self.commits += 1
        for _, _, future, _ in batch:
            if not future.done():
                future.set_result(None)

    async def _write(
        self,
        usage: list[Record],
        records: list[Record],
        vouch: list[Vouch] | None,
        stored: list[Record],
    ) -> tuple[Head, list[Record]]:
        """Commit the batch, linked onto the chain's committed head, with a checkpoint of the
        head it leads to if ``vouch`` is given; that head and the checkpoint. Every try sends
        the same rows, so a try that landed unseen is recognised."""
        base, (links, head) = self._base(), self._link(records)
        signed = self._checkpoints(head, vouch)
        for attempt in range(self.attempts):
            try:
                await self.store.write(usage, links, signed, stored)
                return head, signed
            except Exception as exc:
                log.warning(
                    "record commit failed (try %d of %d): %s", attempt + 1, self.attempts, exc
                )
                if self.store.refused_value(exc):  # a value refused: trying again cannot help
                    raise
                if links and await self._landed(head):
                    return head, signed
                # A row whose request id is taken gets a fresh one; a row found stored as it
                # is means the commit landed unseen (keel.store.request_ids).
                taken = await settle_taken(self.store, usage, records)
                if taken is Taken.LANDED and not links:
                    return head, signed
                if attempt + 1 == self.attempts:
                    raise
                # The chain moved past an earlier commit that landed, or records got new ids.
                if self._base() != base or taken is Taken.RENAMED:
                    base, (links, head) = self._base(), self._link(records)
                    signed = self._checkpoints(head, vouch)
                if taken is not Taken.RENAMED:  # a client's taken id must not slow the batch
                    await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def _base(self) -> Head | None:
        return self.trail.head if self.trail is not None else None

    def _link(self, records: list[Record]) -> tuple[list[Record], Head]:
        if self.trail is None:
            return [], Head(0, "")
        return self.trail.link(records)

    def _checkpoints(self, head: Head, vouch: list[Vouch] | None) -> list[Record]:
        """The checkpoint of ``head`` to commit with the batch, if one is due (``vouch``)."""
        if self.trail is None or vouch is None:
            return []
        return [self.trail.checkpoint(head, vouch=vouch)]

    async def _seen(self, trail: ChainKeeper, starting: bool = False) -> list[Vouch]:
        """The other writers' checkpoints a checkpoint due now vouches for."""
        try:
            return await trail.seen(self.store, starting)
        except Exception as exc:  # the checkpoint still signs this chain; it vouches for none
            log.warning(
                "audit chain %s: other writers' checkpoints not read: %s", trail.writer, exc
            )
            return []

    async def _landed(self, head: Head) -> bool:
        """After a failed commit: did it land all the same (the connection dropped after the
        COMMIT)? If an earlier commit taken for failed did land, the chain moves past it, so
        the next batch does not collide with it."""
        trail = self.trail
        assert trail is not None
        try:
            stored = await self.store.audit_head(trail.writer)
        except Exception:
            return False
        if stored is None:
            return False
        if (stored.seq, stored.hash) == (head.seq, head.hash):
            return True
        if stored.seq > trail.head.seq:
            log.warning("audit chain %s: seq %d was committed after all", trail.writer, stored.seq)
            trail.advance(Head(stored.seq, stored.hash))
        return False


def _refuse(batch: list[Item], exc: Exception) -> None:
    for _, _, future, _ in batch:
        if not future.done():
            future.set_exception(RecordNotCommitted(str(exc)))


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()

"""A deployment as the router sees it: its config, its adapter, its load, its health.

At most ``max_concurrency`` calls are in flight to a deployment. When every deployment of a
model is that busy, a call may wait for a slot in a FIFO queue of at most ``max_queue``; a slot
that frees goes straight to the first waiter, so a waiter is never overtaken by a newcomer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from keel.config.schema import DeploymentConfig
from keel.providers.base import Provider
from keel.routing.breaker import Breaker
from keel.translate import sender

if TYPE_CHECKING:
    from keel.call import Endpoint

__all__ = ["Target"]


@dataclass(slots=True)
class Target:
    deployment: DeploymentConfig
    provider: Provider
    breaker: Breaker
    in_flight: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    # Per client endpoint: the provider itself (it serves it natively), it translated, or None.
    senders: dict[Endpoint, Provider | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.deployment.name

    def sender(self, endpoint: Endpoint) -> Provider | None:
        """What sends calls of ``endpoint`` to this deployment (keel.translate.sender)."""
        try:
            return self.senders[endpoint]
        except KeyError:
            found = self.senders[endpoint] = sender(self.provider, endpoint)
            return found

    def full(self) -> bool:
        return self.in_flight >= self.deployment.max_concurrency

    def acquire(self) -> None:
        self.in_flight += 1

    def release(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on: in_flight stays as it is
                return
        self.in_flight -= 1

    async def wait_for_slot(self, timeout_s: float) -> bool:
        """Queue for a slot; True once it is this caller's (who must ``release`` it), False
        if the queue is full or the wait ran out."""
        if len(self.waiters) >= self.deployment.max_queue or timeout_s <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except TimeoutError:
            self._give_back(waiter)
            return False
        except BaseException:  # the caller was cancelled (the client left)
            self._give_back(waiter)
            raise
        return True

    def _give_back(self, waiter: asyncio.Future[None]) -> None:
        """A waiter that leaves: out of the queue, and a slot handed to it just as it gave up
        goes on to the next."""
        if waiter.done() and not waiter.cancelled():
            self.release()
        else:
            waiter.cancel()
            with contextlib.suppress(ValueError):
                self.waiters.remove(waiter)

"""A deployment's slots and its bounded queue, first come first served."""

from __future__ import annotations

import asyncio

from keel.config.schema import DeploymentConfig
from keel.providers.sim import SimProvider
from keel.routing.breaker import Breaker
from keel.routing.target import Target


def target(max_concurrency: int = 1, max_queue: int = 2) -> Target:
    d = DeploymentConfig(name="d", provider="sim", model="m", region="r",
                         max_concurrency=max_concurrency, max_queue=max_queue)  # fmt: skip
    return Target(d, SimProvider(d), Breaker(d.breaker))


async def test_a_freed_slot_goes_to_the_first_waiter() -> None:
    t = target()
    t.acquire()
    assert t.full()
    first = asyncio.create_task(t.wait_for_slot(10))
    second = asyncio.create_task(t.wait_for_slot(10))
    await asyncio.sleep(0)
    t.release()
    assert await first and not second.done()
    assert t.in_flight == 1  # handed over, not freed
    t.release()
    assert await second
    t.release()
    assert t.in_flight == 0 and not t.waiters


async def test_past_max_queue_a_caller_is_refused_at_once() -> None:
    t = target(max_queue=1)
    t.acquire()
    waiting = asyncio.create_task(t.wait_for_slot(10))
    await asyncio.sleep(0)
    assert not await t.wait_for_slot(10)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert not t.waiters


async def test_a_wait_that_runs_out_leaves_the_queue() -> None:
    t = target()
    t.acquire()
    assert not await t.wait_for_slot(0.01)
    assert not t.waiters
    t.release()
    assert t.in_flight == 0


async def test_a_slot_handed_to_a_waiter_that_left_passes_on() -> None:
    t = target()
    t.acquire()
    leaving = asyncio.create_task(t.wait_for_slot(10))
    staying = asyncio.create_task(t.wait_for_slot(10))
    await asyncio.sleep(0)
    t.release()  # the slot is handed to ``leaving``…
    leaving.cancel()  # …which is cancelled before it could take it
    await asyncio.gather(leaving, return_exceptions=True)
    assert await staying and t.in_flight == 1

"""The state backend's circuit (keel.state.circuit) on a driven clock, and how RedisState
tells keel's own slowness from Redis failing: a busy pool, a silent server, a closed port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from keel.config.finops import StateConfig
from keel.state.base import BackendUnavailable
from keel.state.circuit import Circuit
from keel.state.redis import RedisState
from tests.e2e.procs import free_port
from tests.state.conftest import REDIS_URL, redis_or_skip


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_failure_does_not_open_the_circuit() -> None:
    circuit = Circuit(failures_to_open=3, open_s=1.0, clock=Clock())
    circuit.failed("slow")
    circuit.failed("slow")
    circuit.check()  # still closed
    circuit.succeeded()
    circuit.failed("slow")
    circuit.failed("slow")
    circuit.check()  # a success between resets the run
    assert circuit.state == "closed"


def test_a_run_of_failures_opens_it_then_one_probe_goes_through() -> None:
    clock = Clock()
    circuit = Circuit(failures_to_open=3, open_s=1.0, clock=clock)
    for _ in range(3):
        circuit.failed("unreachable (refused)")
    assert circuit.state == "open"
    with pytest.raises(BackendUnavailable, match=r"3 failures in a row.*refused.*again in 1\.0 s"):
        circuit.check()
    clock.now += 1.0
    circuit.check()  # the probe
    assert circuit.state == "half-open"
    with pytest.raises(BackendUnavailable, match="probe is under way"):
        circuit.check()  # only one probe at a time
    circuit.succeeded()
    assert circuit.state == "closed"
    circuit.check()


def test_a_failed_probe_opens_it_again_at_once() -> None:
    clock = Clock()
    circuit = Circuit(failures_to_open=2, open_s=1.0, clock=clock)
    circuit.failed("x")
    circuit.failed("x")
    clock.now += 1.5
    circuit.check()
    circuit.failed("x")
    assert circuit.state == "open"
    with pytest.raises(BackendUnavailable):
        circuit.check()


def test_a_probe_that_was_never_sent_frees_the_way_for_the_next() -> None:
    clock = Clock()
    circuit = Circuit(failures_to_open=1, open_s=1.0, clock=clock)
    circuit.failed("x")
    clock.now += 1.0
    circuit.check()
    circuit.passed()  # keel was too busy to send it
    circuit.check()  # the next call probes
    assert circuit.state == "half-open"


@contextlib.asynccontextmanager
async def opened(config: StateConfig) -> AsyncIterator[RedisState]:
    state = RedisState(config)
    await state.start()
    try:
        yield state
    finally:
        await state.close()


async def test_a_wait_for_a_busy_pool_is_not_redis_failing() -> None:
    await redis_or_skip()
    config = StateConfig(url=REDIS_URL, pool_size=1, pool_wait_s=0.05, failures_to_open=1)
    async with opened(config) as state:
        held = await state.pool.get_connection()
        try:
            with pytest.raises(BackendUnavailable, match=r"busy \(all 1 of keel's connections"):
                await state.ping()
        finally:
            await state.pool.release(held)
        assert state.circuit.failures == 0 and state.circuit.state == "closed"
        await state.ping()  # Redis answers as before


async def test_a_closed_port_is_unreachable_and_opens_after_a_run() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    config = StateConfig(url=url, pool_size=2, failures_to_open=2, open_s=60)
    async with opened(config) as state:  # starts though nothing listens
        for _ in range(2):
            with pytest.raises(BackendUnavailable, match=r"^unreachable \(ConnectionError"):
                await state.ping()
        with pytest.raises(BackendUnavailable, match=r"marked down after 2 failures in a row"):
            await state.ping()


async def test_a_silent_server_is_slow_not_unreachable() -> None:
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        await done.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = StateConfig(url=f"redis://127.0.0.1:{port}/0", pool_size=1, timeout_s=0.2)
    try:
        async with opened(config) as state:
            with pytest.raises(BackendUnavailable, match=r"^slow \(no answer within 200 ms\)"):
                await state.ping()
            assert state.circuit.failures == 1 and state.circuit.state == "closed"
    finally:
        done.set()
        server.close()
        await server.wait_closed()

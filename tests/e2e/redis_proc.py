"""A private ``redis-server`` on loopback, for tests that kill Redis under load.

Each one runs on a free port with no persistence (``--save "" --appendonly no``), so a
restart comes back empty, as a replacement Redis would. ``kill()`` sends SIGKILL by PID: the
server gets no chance to close its connections, so clients see them break mid-command, as
when a Redis node dies. ``restart()`` brings it back on the same port, so the ``url`` a
gateway was configured with stays valid.

Debian's ``redis-server`` is used. Without it the tests that need one are skipped, unless
``CI`` is set: there a missing server is a failure, not a skip. redis-py is used only to see
that the server answers PING; what a test does with Redis is the test's business.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tests.e2e.procs import free_port, stop_process

__all__ = [
    "RedisProcess",
    "answers_ping",
    "redis_binary",
    "redis_server",
    "run_redis",
    "server_pid",
]


def redis_binary() -> str:
    """The path of ``redis-server``; skip the test without one (fail it when CI is set)."""
    path = shutil.which("redis-server")
    if path is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the Redis tests must run")
        pytest.skip(reason)
    return path


class RedisProcess:
    """One redis-server process, started by ``start()``; see the module's docstring."""

    def __init__(self, binary: str, workdir: Path, port: int | None = None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("redis-server is not running; call start() or restart()")
        return self.proc.pid

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once it answers PING."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"redis-server is already running (pid {self.proc.pid})")
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir)]  # fmt: skip
        with (self.workdir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(self.proc, timeout)
        except BaseException:
            self.stop()
            raise

    def kill(self) -> None:
        """SIGKILL by PID: no clean shutdown, so open connections break where they are."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            raise RuntimeError("redis-server is not running, so it cannot be killed")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def restart(self, timeout: float = 10.0) -> None:
        """Start again on the same port (killing the server first if it still runs)."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        self.start(timeout)

    def stop(self) -> None:
        """Stop the server by its PID, if it runs: SIGTERM, then SIGKILL if it lingers."""
        if self.proc is not None:
            stop_process(self.proc, timeout=10)

    def _wait_ready(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = (self.workdir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {proc.returncode}:\n{log}")
            # This very process must answer: another server may hold the port a moment longer.
            if server_pid(self.url) == proc.pid:
                return
            time.sleep(0.05)
        raise TimeoutError(f"redis-server on port {self.port} did not answer within {timeout}s")


def answers_ping(url: str) -> bool:
    """Does a server at ``url`` answer PING?"""
    return server_pid(url) is not None


def server_pid(url: str) -> int | None:
    """The PID of the server that answers PING at ``url``, None if none does. Safe to call
    with or without a running event loop (an async test may restart Redis): the check runs on
    a loop of its own thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _ping(url)).result()


async def _ping(url: str) -> int | None:
    client = aioredis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        await client.ping()
        return int((await client.info("server"))["process_id"])
    except (RedisError, OSError):
        return None
    finally:
        await client.aclose()


@contextmanager
def run_redis(workdir: Path) -> Iterator[RedisProcess]:
    """A started redis-server, stopped by its PID afterwards (for scopes of your choosing)."""
    server = RedisProcess(redis_binary(), workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisProcess]:
    """A fresh redis-server for one test."""
    with run_redis(tmp_path) as server:
        yield server

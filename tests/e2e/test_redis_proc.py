"""The Redis process fixture itself: it answers, dies on kill (open connections too), and
comes back empty on the same port."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.e2e.redis_proc import (
    RedisProcess,
    answers_ping,
    redis_binary,
    run_redis,
    server_pid,
)


async def test_kill_breaks_connections_and_restart_comes_back_empty(
    redis_server: RedisProcess,
) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    client = aioredis.from_url(redis_server.url, socket_timeout=2)
    try:
        assert await client.ping() is True
        await client.set("left-behind", "1")
        first_pid = redis_server.pid

        redis_server.kill()
        with pytest.raises(RedisConnectionError):
            await client.ping()  # the pooled connection broke; a new one is refused
        assert not answers_ping(redis_server.url)
        with pytest.raises(ProcessLookupError):
            os.kill(first_pid, 0)

        redis_server.restart()
        assert redis_server.pid != first_pid
        assert server_pid(redis_server.url) == redis_server.pid
        assert await client.ping() is True  # same port, same url
        assert await client.get("left-behind") is None  # no persistence: back empty
    finally:
        await client.aclose()


def test_the_server_is_stopped_at_the_end(tmp_path: Path) -> None:
    with run_redis(tmp_path) as server:
        assert answers_ping(server.url)
        pid = server.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not answers_ping(server.url)


def test_restart_of_a_running_server_kills_it_first(redis_server: RedisProcess) -> None:
    before = redis_server.pid
    redis_server.restart()
    assert redis_server.pid != before and answers_ping(redis_server.url)


def test_a_missing_redis_server_skips_unless_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install redis-server"):
        redis_binary()
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        redis_binary()


def test_a_port_in_use_is_reported_with_the_servers_log(redis_server: RedisProcess) -> None:
    second = RedisProcess(redis_binary(), redis_server.workdir, port=redis_server.port)
    with pytest.raises(RuntimeError, match="exited with") as caught:
        second.start()  # the first server answers PING, but it is not this one
    assert "Address already in use" in str(caught.value)  # the log's tail says why
    assert server_pid(redis_server.url) == redis_server.pid

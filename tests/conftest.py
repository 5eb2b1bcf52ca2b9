"""Fixtures shared across test packages."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.e2e.procs import free_port, run_process
from tests.e2e.redis_proc import redis_server  # noqa: F401 (a fixture, for every test package)


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fault-injecting upstream (tests/faults/upstream.py) as a real process."""
    port = free_port()
    args = [sys.executable, "-m", "tests.faults.upstream", "--port", str(port)]
    log = tmp_path_factory.mktemp("faults") / "faults.log"
    with run_process(args, f"http://127.0.0.1:{port}/health", log):
        yield f"http://127.0.0.1:{port}"

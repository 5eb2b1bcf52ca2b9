"""Fixtures shared across test packages."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.e2e.procs import free_port, run_process
from tests.e2e.prometheus_proc import MISSING
from tests.e2e.redis_proc import redis_server  # noqa: F401 (a fixture, for every test package)


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fault-injecting upstream (tests/faults/upstream.py) as a real process."""
    port = free_port()
    args = [sys.executable, "-m", "tests.faults.upstream", "--port", str(port)]
    log = tmp_path_factory.mktemp("faults") / "faults.log"
    with run_process(args, f"http://127.0.0.1:{port}/health", log):
        yield f"http://127.0.0.1:{port}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly, at the end of the run, that the Prometheus tests did not run, and why."""
    skipped = terminalreporter.stats.get("skipped", [])
    missed = [r.nodeid for r in skipped if MISSING in str(getattr(r, "longrepr", ""))]
    if not missed:
        return
    terminalreporter.section(MISSING, sep="!", red=True, bold=True)
    terminalreporter.write_line(
        f"{len(missed)} tests of the Prometheus stack (tests/deploy, tests/e2e) did not run: "
        "Debian's "
        "prometheus and prometheus-alertmanager are not installed, and make test could not "
        "install them (apt-get install -y prometheus prometheus-alertmanager).",
        red=True,
        bold=True,
    )

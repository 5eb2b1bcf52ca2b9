"""Debian's Prometheus tools for the tests: ``promtool`` to check the shipped rules and
dashboard queries, and ``prometheus`` and ``prometheus-alertmanager`` run on loopback.

``make test`` installs the packages when they are missing (scripts/services.sh). Where they
cannot be had the tests that need them are skipped with the reason in capitals (and
tests/conftest.py repeats it at the end of the run), unless ``CI`` is set: there a missing
binary is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.procs import free_port, run_process

__all__ = ["MISSING", "debian_binary", "run_alertmanager", "run_prometheus"]

MISSING = "PROMETHEUS TESTS SKIPPED"


def debian_binary(name: str, package: str = "prometheus") -> str:
    """The path of ``name``; skip the test without it (fail it when CI is set)."""
    path = shutil.which(name)
    if path is None:
        reason = (
            f"{MISSING}: {name} is not installed; make test installs it "
            f"(apt-get install -y {package}), which failed or was not run"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the Prometheus tests must run")
        pytest.skip(reason)
    return path


@contextmanager
def run_prometheus(workdir: Path, config: dict[str, Any], rules: dict[str, Any]) -> Iterator[str]:
    """Prometheus on a free loopback port with ``config`` and one rules file; its URL."""
    binary = debian_binary("prometheus")
    port = free_port()
    (workdir / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    (workdir / "prometheus.yml").write_text(
        yaml.safe_dump({**config, "rule_files": ["rules.yml"]}, sort_keys=False)
    )
    check = subprocess.run(
        [debian_binary("promtool"), "check", "config", str(workdir / "prometheus.yml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    args = [binary, f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with run_process(args, url + "/-/ready", workdir / "prometheus.log"):
        yield url


@contextmanager
def run_alertmanager(workdir: Path, config: dict[str, Any]) -> Iterator[str]:
    """Alertmanager on a free loopback port, alone (no cluster), with ``config``; its URL."""
    binary = debian_binary("prometheus-alertmanager", "prometheus-alertmanager")
    port = free_port()
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    args = [binary, f"--config.file={path}", f"--storage.path={workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with run_process(args, url + "/-/ready", workdir / "alertmanager.log"):
        yield url

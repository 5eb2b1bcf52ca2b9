"""Real processes on loopback for end-to-end tests: keel, keel sim, the recording upstream."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

__all__ = [
    "free_port",
    "keel_cli",
    "run_keel",
    "run_process",
    "sim_config",
    "stop_process",
    "wait_http",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def run_process(
    args: list[str],
    health_url: str,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process, wait until it answers, and stop it (by its PID) afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=cwd
        )
    try:
        wait_http(health_url, proc)
        yield proc
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop a process by its PID, if it runs: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sim_config(key: str, **sim: Any) -> dict[str, Any]:
    """A gateway with one fast in-process ``sim`` deployment behind the model ``m``."""
    settings = {"ttft_ms": 0, "tokens_per_s": 10000, **sim}
    return {
        "server": {"access_log": False},
        "regions": {"local": {}},
        "deployments": [
            {"name": "s", "provider": "sim", "model": "sim", "region": "local", "sim": settings}
        ],
        "models": {"m": ["s"]},
        "teams": {"t": {"api_keys": [key]}},
    }


@contextmanager
def run_keel(
    tmp: Path, config: dict[str, Any], env: dict[str, str] | None = None, *args: str
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """Write ``config`` to keel.yaml and run ``keel up`` on it (with ``args``);
    yield (URL, process, file)."""
    port = free_port()
    config = {**config, "server": {**config.get("server", {}), "port": port}}
    config.setdefault("store", {"url": f"sqlite:///{tmp / 'keel.db'}"})
    path = tmp / "keel.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    args = (sys.executable, "-m", "keel", "up", "--config", str(path), *args)
    with run_process(list(args), f"http://127.0.0.1:{port}/healthz", tmp / "keel.log", env) as proc:
        yield f"http://127.0.0.1:{port}", proc, path


def keel_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "keel", *args], capture_output=True, text=True, timeout=60
    )
    if check and result.returncode != 0:
        raise AssertionError(f"keel {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result

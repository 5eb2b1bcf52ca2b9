"""`keel up --workers 2`: two processes on one port, one set of metrics, one clean stop."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import httpx

from tests.e2e.procs import run_keel, sim_config

KEY = "sk-workers"


def workers_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def test_two_workers_share_the_port_and_the_metrics(tmp_path: Path) -> None:
    with run_keel(tmp_path, sim_config(KEY), None, "--workers", "2") as (url, proc, _):
        assert len(workers_of(proc.pid)) == 2
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(headers={"authorization": f"Bearer {KEY}"}) as http:
            for _ in range(40):
                assert http.post(url + "/v1/chat/completions", json=body).status_code == 200
            metrics = http.get(url + "/metrics").text
        line = next(x for x in metrics.splitlines() if x.startswith("keel_requests_total{"))
        assert float(line.rsplit(" ", 1)[1]) == 40.0  # summed over both workers
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    with sqlite3.connect(tmp_path / "keel.db") as conn:
        assert conn.execute("SELECT count(*) FROM usage").fetchone()[0] == 40


def test_a_dead_worker_stops_keel_with_an_error(tmp_path: Path) -> None:
    with run_keel(tmp_path, sim_config(KEY), None, "--workers", "2") as (_, proc, _):
        os.kill(workers_of(proc.pid)[0], signal.SIGKILL)
        assert proc.wait(timeout=20) == 1  # so the process manager restarts keel whole
    assert "stopping the others" in (tmp_path / "keel.log").read_text()

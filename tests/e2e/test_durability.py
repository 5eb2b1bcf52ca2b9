"""kill -9 of keel in the middle of a load loses no record (usage or audit) of any answer a
client received, and leaves an audit chain that verifies."""

from __future__ import annotations

import itertools
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import orjson

from tests.e2e.procs import keel_cli, run_keel

KEY = "sk-durable"
CONFIG = {
    "regions": {"local": {}},
    "deployments": [
        {
            "name": "fast",
            "provider": "sim",
            "model": "sim",
            "region": "local",
            "sim": {"ttft_ms": 1, "tokens_per_s": 20000, "output_tokens": 8, "capacity": 64},
        },
    ],
    "models": {"m": ["fast"]},
    "teams": {"t": {"api_keys": [KEY]}},
    "server": {"access_log": False},
}


class Load:
    """Closed-loop clients that remember which answers arrived whole."""

    def __init__(self, url: str, clients: int) -> None:
        self.url = url
        self.received: list[str] = []
        self.failed = 0
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def _run(self, worker: int) -> None:
        with httpx.Client(timeout=10, headers={"authorization": f"Bearer {KEY}"}) as http:
            while not self._stop.is_set():
                request_id = f"w{worker}-{next(self._ids)}"
                try:
                    ok = self._one(http, request_id, stream=worker % 2 == 1)
                except httpx.HTTPError:
                    ok = False
                with self._lock:
                    if ok:
                        self.received.append(request_id)
                    else:
                        self.failed += 1
                if not ok:
                    time.sleep(0.01)

    def _one(self, http: httpx.Client, request_id: str, stream: bool) -> bool:
        body = {
            "model": "m",
            "messages": [{"role": "user", "content": request_id}],
            "stream": stream,
        }
        headers = {"x-request-id": request_id}
        url = self.url + "/v1/chat/completions"
        if not stream:
            response = http.post(url, json=body, headers=headers)
            return response.status_code == 200 and bool(response.json()["choices"])
        with http.stream("POST", url, json=body, headers=headers) as response:
            lines = [line for line in response.iter_lines() if line]
        # Only a stream that reached [DONE] is an answer the client received.
        return response.status_code == 200 and bool(lines) and lines[-1] == "data: [DONE]"


def recorded_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT request_id FROM usage")}


def audited_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {
            orjson.loads(row[0])["request_id"] for row in conn.execute("SELECT record FROM audit")
        }


def test_sigkill_mid_load_loses_no_record(tmp_path: Path) -> None:
    with run_keel(tmp_path, CONFIG) as (url, proc, config_path):
        load = Load(url, clients=12)
        load.start()
        deadline = time.monotonic() + 20
        while len(load.received) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        load.stop()
    received = set(load.received)
    assert len(received) >= 300, "the load never got going; the test would prove nothing"
    assert load.failed > 0, "keel was killed while no request was in flight"
    missing = received - recorded_ids(tmp_path / "keel.db")
    assert not missing, (
        f"{len(missing)} answered requests have no usage record: {sorted(missing)[:5]}"
    )
    unaudited = received - audited_ids(tmp_path / "keel.db")
    assert not unaudited, (
        f"{len(unaudited)} answered requests have no audit record: {sorted(unaudited)[:5]}"
    )
    report = keel_cli("audit", "verify", "--config", str(config_path), check=False)
    assert report.returncode == 0, report.stdout + report.stderr
    # Killed: what came after its start checkpoint was never signed, and verify says so.
    assert "cannot be proven yet" in report.stdout

"""Closed-loop load with wrk: a generated Lua script sends the body and reports JSON in ``done``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Request", "ensure_wrk", "run_wrk", "write_script"]

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,'
    .. '"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,'
    .. '"mean":%.1f,"max":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.mean, latency.max))
end
"""

# A fresh x-request-id per request; only used where the row asks for it (costs wrk some CPU).
_REQUEST_IDS = """
local n = 0
request = function()
  n = n + 1
  wrk.headers["x-request-id"] = "%s-" .. n
  return wrk.format()
end
"""


@dataclass(frozen=True)
class Request:
    """What every load generator sends to a target: path, headers, body."""

    port: int
    path: str
    headers: dict[str, str]
    body: bytes
    request_ids: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


def ensure_wrk() -> str | None:
    """Path of wrk; install the Debian package when missing and root. None if not possible."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        print("bench: wrk is missing; install it with: sudo apt-get install -y wrk")
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"]):
        subprocess.run(argv, env=env, timeout=300, check=False, capture_output=True)
    if not shutil.which("wrk"):  # the first install can fail on a stale package list
        subprocess.run(["apt-get", "install", "-y", "wrk"], env=env, timeout=300, check=False)
    found = shutil.which("wrk")
    if found:
        return found
    print("bench: could not install wrk (apt-get install -y wrk failed)")
    return None


def _lua_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def write_script(request: Request, path: Path) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(request.body.decode())}"]
    headers = {"content-type": "application/json", **request.headers}
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    text = "\n".join(lines) + "\n" + _DONE
    if request.request_ids:
        text += _REQUEST_IDS % os.urandom(6).hex()
    path.write_text(text)
    return path


def run_wrk(
    wrk: str,
    prefix: list[str],
    request: Request,
    script: Path,
    connections: int,
    duration_s: float,
) -> dict[str, float]:
    """One wrk run; its JSON numbers (latencies in microseconds) plus req_per_s and errors."""
    argv = [
        *prefix,
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        request.url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 30)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            numbers: dict[str, float] = json.loads(line[len("WRKJSON ") :])
            break
    else:
        raise RuntimeError(f"wrk printed no result: {done.stdout[-300:]} {done.stderr[-300:]}")
    numbers["req_per_s"] = numbers["requests"] / (numbers["duration_us"] / 1e6)
    keys = ("connect", "read", "write", "status", "timeout")
    numbers["errors"] = sum(numbers[k] for k in keys)
    return numbers

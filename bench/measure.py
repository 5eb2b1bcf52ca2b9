"""One measurement point at a time: a load run, with the target's CPU read at the phase's edges.

Closed loop uses wrk; open loop and streamed time-to-first/last-byte use bench/loadgen.py. Each
point's CPU-ms per request is the target's process-tree CPU time over the measured phase only,
divided by the requests completed in it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import procs
from wrkrun import Request, run_wrk, write_script

__all__ = ["Bench", "Window", "closed_point", "loadgen_point", "warm"]

LOADGEN = Path(__file__).resolve().with_name("loadgen.py")


@dataclass
class Bench:
    """What every point needs: tools, pinning, durations, the mock and a scratch dir."""

    wrk: str
    gw_prefix: list[str]
    load_prefix: list[str]
    workdir: Path
    warmup_s: float
    point_s: float
    loadgen_warmup_s: float
    mock_pid: int
    mock_port: int


@dataclass(frozen=True)
class Reading:
    t: float
    target: dict[int, float]
    mock: float
    load: float
    own: float
    cores: dict[int, tuple[int, int]]


class Window:
    """CPU of the target tree, the mock, the load generator and everything else, start to end.

    ``load_pid`` is a running load generator; without one, the CPU of this script's exited
    children (wrk) is read. ``other_cores`` is CPU charged to processes that are not ours:
    another program on the machine disturbing the run. The kernel keeps per-core counters by
    sampling at each tick and per-process ones exactly, so it reads a few hundredths off, and down
    to about -0.2 when a process wakes thousands of times a second (the open-loop runs).
    """

    def __init__(self, root: int, mock: int, load_pid: int | None = None) -> None:
        self.root, self.mock, self.load_pid = root, mock, load_pid
        self.start = self._read()
        self.stop: Reading | None = None

    def _read(self) -> Reading:
        mock = procs.cpu_ms(self.mock) if self.mock != self.root else 0.0
        load = procs.cpu_ms(self.load_pid) if self.load_pid else procs.own_cpu_ms(True)
        target = procs.cpu_by_pid(self.root)
        own = procs.own_cpu_ms(False)
        return Reading(time.perf_counter(), target, mock, load, own, procs.core_busy())

    def end(self) -> None:
        self.stop = self._read()

    def numbers(self, requests: float) -> dict[str, Any]:
        if self.stop is None:
            self.end()
        assert self.stop is not None
        a, z = self.start, self.stop
        wall_ms = (z.t - a.t) * 1000
        per_pid = {p: z.target[p] - a.target.get(p, 0.0) for p in z.target}
        cpu = sum(per_pid.values())
        out: dict[str, Any] = {
            "target_cpu_ms": round(cpu, 1),
            "target_cores": round(cpu / wall_ms, 3),
            "cpu_ms_per_req": round(cpu / requests, 4) if requests else None,
            "window_ms": round(wall_ms, 1),
            "mock_cores": round((z.mock - a.mock) / wall_ms, 3),
            "load_cores": round((z.load - a.load) / wall_ms, 3),
        }
        if len(per_pid) > 1:  # workers: how evenly the load spread over the processes
            out["cores_by_pid"] = {p: round(v / wall_ms, 3) for p, v in per_pid.items()}
        charged = 0.0
        for c, (busy0, total0) in a.cores.items():
            busy1, total1 = z.cores.get(c, (busy0, total0))
            out[f"core{c}_busy"] = round((busy1 - busy0) / max(1, total1 - total0), 3)
            charged += (busy1 - busy0) * procs.CPU_TICK_MS
        ours = cpu + (z.mock - a.mock) + (z.load - a.load) + (z.own - a.own)
        out["other_cores"] = round((charged - ours) / wall_ms, 3)
        return out


def _script(b: Bench, request: Request) -> Path:
    name = f"req-{request.port}-{abs(hash((request.body, request.request_ids)))}.lua"
    return write_script(request, b.workdir / name)


def warm(b: Bench, request: Request, seconds: float) -> None:
    """Closed-loop load whose numbers are thrown away (caches, pools, allocator)."""
    if seconds > 0:
        run_wrk(b.wrk, b.load_prefix, request, _script(b, request), 50, seconds)


def closed_point(b: Bench, root: int, request: Request, connections: int) -> dict[str, Any]:
    """wrk -t1 -c<connections>; latencies in ms; CPU over the run."""
    window = Window(root, b.mock_pid)
    numbers = run_wrk(b.wrk, b.load_prefix, request, _script(b, request), connections, b.point_s)
    window.end()
    cpu = window.numbers(numbers["requests"] - numbers["errors"])
    latency = {k: round(numbers[k] / 1000, 4) for k in ("p50", "p90", "p99", "p999", "mean")}
    return {
        "tool": "wrk",
        "connections": connections,
        "req_per_s": round(numbers["req_per_s"], 1),
        "requests": numbers["requests"],
        "errors": numbers["errors"],
        "status_errors": numbers["status"],
        "latency_ms": latency,
        **cpu,
    }


def loadgen_argv(b: Bench, request: Request, mode: list[str]) -> list[str]:
    body = b.workdir / f"body-{abs(hash(request.body))}.json"
    body.write_bytes(request.body)
    argv = [*b.load_prefix, sys.executable, str(LOADGEN), "--port", str(request.port)]
    argv += ["--path", request.path, "--body-file", str(body), *mode]
    argv += ["--warmup", str(b.loadgen_warmup_s), "--duration", str(b.point_s)]
    for name, value in request.headers.items():
        argv += ["--header", f"{name}: {value}"]
    return argv + (["--request-ids"] if request.request_ids else [])


def loadgen_point(b: Bench, root: int, request: Request, mode: list[str]) -> dict[str, Any]:
    """Run loadgen (``--rate R`` or ``--concurrency N``); CPU read at its MEASURE_* marks."""
    argv = loadgen_argv(b, request, mode)
    popen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    limit = b.loadgen_warmup_s + b.point_s + 40
    watchdog = threading.Timer(limit, popen.kill)  # this PID only: loadgen has no children
    watchdog.start()
    window: Window | None = None
    result: dict[str, Any] | None = None
    try:
        assert popen.stdout is not None
        for line in popen.stdout:
            if line.startswith("MEASURE_START"):
                window = Window(root, b.mock_pid, popen.pid)
            elif line.startswith("MEASURE_END") and window is not None:
                window.end()
            elif line.startswith("{"):
                result = json.loads(line)
        popen.wait(timeout=10)
    finally:
        watchdog.cancel()
        if popen.poll() is None:
            popen.kill()
            popen.wait(timeout=5)
    if result is None:
        err = popen.stderr.read()[-400:] if popen.stderr else ""
        raise RuntimeError(f"loadgen gave no result (exit {popen.returncode}): {err}")
    if window is not None and window.stop is not None:
        result.update(window.numbers(result["completed"] + sum(result["errors"].values())))
    return {"tool": "loadgen", **result}

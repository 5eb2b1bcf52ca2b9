"""Processes for the benchmark: start pinned, wait until they answer, stop by PID, read CPU and RSS.

Everything here is bounded: every wait has a deadline, and ``stop`` ends a process and every
descendant it had, each by its own PID (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "CPU_TICK_MS",
    "Pinning",
    "Proc",
    "core_busy",
    "cpu_by_pid",
    "cpu_ms",
    "descendants",
    "free_port",
    "own_cpu_ms",
    "pinning",
    "post",
    "rss_mib",
    "start",
    "stop",
    "wait_until_answers",
]

CPU_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


@dataclass
class Proc:
    """A process the benchmark started, with the log file its output goes to."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    files: list[IO[bytes]] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Pinning:
    """taskset prefixes: gateway on core 0, load generator and mock on core 1, or all cores."""

    gateway: list[str]
    load: list[str]
    every: list[str]
    note: str

    @property
    def pinned(self) -> bool:
        return bool(self.gateway)


def pinning() -> Pinning:
    cores = os.cpu_count() or 1
    if cores >= 2 and shutil.which("taskset"):
        every = ["taskset", "-c", f"0-{cores - 1}"]
        note = "gateway pinned to core 0; load generator and mock to core 1"
        return Pinning(["taskset", "-c", "0"], ["taskset", "-c", "1"], every, note)
    note = "UNPINNED: fewer than 2 cores (or no taskset): gateway, load and mock share CPUs"
    return Pinning([], [], [], note)


def start(
    name: str,
    argv: Sequence[str],
    logdir: Path,
    env: dict[str, str] | None = None,
    stdout: Path | None = None,
) -> Proc:
    """Start ``argv`` in its own session; stderr (and stdout unless given) go to a log file."""
    log = logdir / f"{name}.log"
    err = log.open("wb")
    out = stdout.open("wb") if stdout is not None else err
    popen = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    files: list[IO[bytes]] = [err] if out is err else [err, out]
    return Proc(name, popen, log, files)


def stop(proc: Proc, grace_s: float = 10.0) -> None:
    """SIGTERM the process and its descendants by PID; SIGKILL whatever is left after grace_s."""
    pids = [proc.pid, *descendants(proc.pid)]
    _signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.popen.wait(timeout=grace_s)
    while time.monotonic() < deadline and any(_alive(p) for p in pids[1:]):
        time.sleep(0.05)
    _signal_all([p for p in pids if _alive(p)], signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.popen.wait(timeout=5)
    for f in proc.files:
        f.close()


def _signal_all(pids: Sequence[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (index 0 is the state)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _all_parents() -> Iterator[tuple[int, int]]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                yield int(entry.name), int(fields[1])


def descendants(root: int) -> list[int]:
    """Every live descendant of ``root`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _all_parents():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    todo = [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def cpu_by_pid(root: int) -> dict[int, float]:
    """utime+stime in milliseconds of ``root`` and each live descendant."""
    found: dict[int, float] = {}
    for pid in [root, *descendants(root)]:
        fields = _stat_fields(pid)
        if fields is not None:
            found[pid] = (int(fields[11]) + int(fields[12])) * CPU_TICK_MS  # utime, stime
    return found


def cpu_ms(root: int) -> float:
    """utime+stime of ``root`` and all its live descendants, in milliseconds."""
    return sum(cpu_by_pid(root).values())


def rss_mib(root: int) -> float:
    """Sum of VmRSS over ``root`` and its descendants, in MiB."""
    total_kib = 0
    for pid in [root, *descendants(root)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


def core_busy() -> dict[int, tuple[int, int]]:
    """Per-core (busy, total) jiffies from /proc/stat; diff two readings for a busy share.

    Busy is everything but idle and iowait: interrupt and softirq time too, where the kernel
    accounts loopback networking that per-process counters may also charge to the process.
    """
    cores: dict[int, tuple[int, int]] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name != "cpu":
            n = [int(v) for v in values[:8]]
            cores[int(name[3:])] = (sum(n) - n[3] - n[4], sum(n))
    return cores


def own_cpu_ms(children: bool) -> float:
    """CPU of this process, or of its waited-for children (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def post(
    port: int, path: str, body: bytes, headers: dict[str, str], timeout: float = 5.0
) -> tuple[int, bytes]:
    """One POST on loopback; (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body, {"content-type": "application/json", **headers})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_answers(
    proc: Proc, port: int, path: str, body: bytes, headers: dict[str, str], timeout_s: float
) -> str | None:
    """Poll with a real request until a 200; None when it answers, else why not."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            return f"{proc.name} exited with {proc.popen.returncode}: {proc.tail(5)}"
        try:
            status, answer = post(port, path, body, headers, timeout=5.0)
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if status == 200:
                return None
            last = f"HTTP {status}: {answer[:200]!r}"
        time.sleep(0.25)
    return f"{proc.name} did not answer within {timeout_s:.0f} s ({last})"

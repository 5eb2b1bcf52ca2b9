"""Instructions per request of each client protocol under callgrind (protocols.py --instructions).

CPU-ms per request on a shared machine swing with its load; the number of instructions keel
executes per request does not. One keel (the full hot path config of bench/targets.py) runs
under ``valgrind --tool=callgrind`` with instrumentation off while it starts and warms up; then,
for each protocol, instrumentation is switched on for ``requests`` plain requests and, counted
apart, as many streamed ones, sent one at a time from outside valgrind (bench/instructions.py's
way). Background work on timers (WAL and audit checkpoints, refreshes, probes) is counted over
an idle window before and after, and its rate times each count's length taken off: under
valgrind, on a loaded machine, it would otherwise add tens of thousands of instructions to a
request, more the slower the machine that day.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import procs
import report
import targets
from instructions import control, dumped
from run import RESULTS, start_mock

if TYPE_CHECKING:
    from protocols import Protocol

_WARM = 50  # requests of each kind per protocol before anything is counted
_IDLE_S = 20.0  # seconds of no requests, to count the work on timers


def send(port: int, p: Protocol, body: bytes, n: int) -> None:
    """``n`` requests one after another on one keep-alive connection; each must answer 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"content-type": "application/json", **p.headers}
    try:
        for _ in range(n):
            conn.request("POST", p.path, body, headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise SystemExit(f"bench: {p.name}: HTTP {response.status}: {data[:200]!r}")
    finally:
        conn.close()


def window(pid: int, out: Path, work: Callable[[], None]) -> tuple[int, float]:
    """Instructions keel executed while ``work`` ran, and the seconds it took."""
    before = set(out.parent.glob(out.name + "*"))
    control(pid, "-z")
    started = time.monotonic()
    control(pid, "--instr=on")
    work()
    control(pid, "--instr=off")
    elapsed = time.monotonic() - started
    control(pid, "-d")
    return dumped(out, before), elapsed


def idle_rate(pid: int, out: Path) -> float:
    """Instructions per second keel executes with no request in flight: its work on timers."""
    instructions, elapsed = window(pid, out, lambda: time.sleep(_IDLE_S))
    return instructions / elapsed


def count(pid: int, out: Path, port: int, p: Protocol, body: bytes, n: int) -> tuple[int, float]:
    """Instructions over ``n`` requests of ``body``, and the seconds they took."""
    return window(pid, out, lambda: send(port, p, body, n))


def per_request(counted: tuple[int, float], idle: float, n: int) -> float:
    """A count's instructions per request, less the timers' share of its window (``idle``
    per second): under valgrind a request takes some 50 times as long, and a loaded machine
    slows it further, so that share follows the machine, not keel."""
    instructions, elapsed = counted
    return (instructions - idle * elapsed) / n


def measure(
    tree: Path, protocols: list[Protocol], mock_port: int, workdir: Path, n: int
) -> dict[str, dict[str, float]]:
    """Instructions per request of each protocol, plain and streamed."""
    if shutil.which("valgrind") is None:
        raise SystemExit("bench: valgrind is not installed (apt-get install -y valgrind)")
    port = procs.free_port()
    home = workdir / "keel-callgrind"
    home.mkdir()
    config = home / "keel.yaml"
    config.write_text(targets.full_hot_path_config(mock_port, port, home))
    out = home / "callgrind.out"
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={out}", sys.executable, "-m", "keel", "up",
            "--config", str(config)]  # fmt: skip
    # PYTHONSAFEPATH: the working directory must not put another checkout's keel first.
    env = {"PYTHONPATH": str(tree), "PYTHONSAFEPATH": "1"}
    proc = procs.start("keel", argv, home, env=env, stdout=home / "keel.stdout")
    try:
        first = protocols[0]
        why = procs.wait_until_answers(proc, port, first.path, first.body, first.headers, 300)
        if why:
            raise SystemExit(f"bench: keel did not start under valgrind: {why}")
        for p in protocols:
            send(port, p, p.body, _WARM)
            send(port, p, p.stream_body, _WARM)
        idle_before = idle_rate(proc.pid, out)
        counted: dict[str, dict[str, tuple[int, float]]] = {}
        for p in protocols:
            print(f"counting {p.name} ({n} plain, {n} streamed)", flush=True)
            plain = count(proc.pid, out, port, p, p.body, n)
            stream = count(proc.pid, out, port, p, p.stream_body, n)
            counted[p.name] = {"plain": plain, "stream": stream}
        idle = (idle_before + idle_rate(proc.pid, out)) / 2
        print(f"idle: {idle:,.0f} instructions/s on timers, taken off each count", flush=True)
        result = {
            name: {kind: per_request(c, idle, n) for kind, c in kinds.items()}
            for name, kinds in counted.items()
        }
    finally:
        procs.stop(proc, grace_s=60)
    return result


def render(counts: dict[str, dict[str, float]]) -> str:
    lines = [
        "| protocol | instr/req | vs chat | stream instr/req | vs chat |",
        "|---|---|---|---|---|",
    ]
    chat = counts.get("chat")
    for name, kinds in counts.items():
        cells = [name]
        for kind in ("plain", "stream"):
            value = kinds[kind]
            diff = "—"
            if chat is not None and name != "chat":
                diff = f"{value - chat[kind]:+,.0f} ({(value - chat[kind]) / chat[kind]:+.1%})"
            cells += [f"{value:,.0f}", diff]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(counts: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Each protocol's counts and their difference from chat's, for the results file."""
    chat = counts["chat"]
    return {
        name: {
            kind: {"per_request": value, "over_chat": value - chat[kind]}
            for kind, value in kinds.items()
        }
        for name, kinds in counts.items()
    }


def run(tree: Path, protocols: list[Protocol], n: int, keep: bool) -> None:
    """The whole ``--instructions`` mode: a mock upstream, one keel under callgrind, each
    protocol counted; prints the table and writes bench/results/<date>-protocols-instr.json."""
    pin = procs.pinning()
    if pin.pinned:
        os.sched_setaffinity(0, {1})  # this script and the mock stay off keel's core
    workdir = Path(tempfile.mkdtemp(prefix="keel-protocols-instr-"))
    mock_port = procs.free_port()
    mock = start_mock(workdir, pin, mock_port)
    try:
        counts = measure(tree, protocols, mock_port, workdir, n)
    finally:
        procs.stop(mock)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    table = render(counts)
    print(f"\ninstructions per request under callgrind, {n} requests each:\n\n{table}")
    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "instructions",
        "requests": n,
        "tree": str(tree),
        "machine": report.machine_facts(),
        "counts": summary(counts),
        "table_markdown": table,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.date.today().isoformat()}-protocols-instr.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults: {path}")

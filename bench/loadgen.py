"""Open-loop (fixed offered rate) and closed-loop load over HTTP/1.1 keep-alive, on uvloop.

    python bench/loadgen.py --port 8080 --body-file body.json --rate 1000 --duration 5

Open loop: request i is *due* at ``start + i / rate`` whatever happened to earlier ones; its
latency is measured from that intended time, so a stalled server is charged for every request it
delayed (no coordinated omission). A request that finds every connection busy waits in a queue
(its clock running) until one frees up or the connection cap allows a new one.

Closed loop (``--concurrency N``): N connections, each sends its next request when the last answer
ended; latency from the actual send. Used for time-to-first-byte (first body byte) and
time-to-last-byte of streamed answers at concurrency 1.

Prints ``MEASURE_START`` and ``MEASURE_END`` lines at the measured phase's edges (so a caller can
read CPU counters there), then one JSON object. ``send_lag_ms`` is how late sends left: the
loop's own stalls, and the wait for a connection when all pooled ones are busy. The loop's timers
tick in milliseconds, so it sleeps only until a millisecond or two before a send is due and polls
the rest: sends leave on time, at the cost of CPU on the load generator's core.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import os
import sys
import time
import typing
from dataclasses import dataclass

import uvloop
from http1 import Conn, Sample

__all__ = ["Driver", "main", "percentiles"]


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max/mean (nearest rank) of values in seconds, returned in ms."""
    if not values:
        return {}
    ordered = sorted(values)
    last = len(ordered) - 1
    out = {f"p{p:g}": ordered[min(last, int(p / 100 * len(ordered)))] * 1000 for p in _RANKS}
    out["max"] = ordered[-1] * 1000
    out["mean"] = sum(ordered) / len(ordered) * 1000
    return {k: round(v, 4) for k, v in out.items()}


_RANKS = (50, 90, 99, 99.9)
_POLL_S = 0.001


@dataclass
class Settings:
    port: int
    head: bytes
    body: bytes
    request_ids: bool
    rate: float
    concurrency: int
    warmup_s: float
    duration_s: float
    max_connections: int
    drain_s: float


class Driver:
    """Sends requests on a pool of keep-alive connections and keeps the finished samples."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.idle: collections.deque[Conn] = collections.deque()
        self.waiting: collections.deque[Sample] = collections.deque()
        self.opened = 0
        self.outstanding = 0
        self.done: list[Sample] = []
        self.measure_from = 0.0
        self.stop_at = 0.0
        self.closed_loop = settings.concurrency > 0
        self.tasks: set[asyncio.Future[None]] = set()
        self.drained = asyncio.Event()
        self.sent = 0
        self.id_prefix = os.urandom(6).hex()
        self.static = settings.head + b"\r\n\r\n" + settings.body

    def payload(self) -> bytes:
        """The request's bytes; with --request-ids each carries its own x-request-id."""
        self.sent += 1
        if not self.s.request_ids:
            return self.static
        rid = f"\r\nx-request-id: {self.id_prefix}-{self.sent}\r\n\r\n".encode()
        return self.s.head + rid + self.s.body

    async def connect(self) -> Conn:
        loop = asyncio.get_running_loop()
        self.opened += 1
        _, conn = await loop.create_connection(
            lambda: Conn(self.finished, self.lost), "127.0.0.1", self.s.port
        )
        return conn

    def dispatch(self, sample: Sample) -> None:
        self.outstanding += 1
        if self.idle:
            self.idle.popleft().send(sample, self.payload())
        elif self.opened < self.s.max_connections:
            task = asyncio.ensure_future(self._send_on_new(sample))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        else:
            self.waiting.append(sample)

    async def _send_on_new(self, sample: Sample) -> None:
        try:
            conn = await self.connect()
        except OSError:
            self.opened -= 1
            sample.error = "connect"
            self.outstanding -= 1
            self.done.append(sample)
            self._check_drained()
            return
        conn.send(sample, self.payload())

    def _check_drained(self) -> None:
        if self.outstanding == 0 and time.perf_counter() >= self.stop_at:
            self.drained.set()

    def finished(self, conn: Conn, sample: Sample) -> None:
        self.outstanding -= 1
        self.done.append(sample)
        now = time.perf_counter()
        if self.closed_loop:
            if now < self.stop_at:
                self.outstanding += 1
                conn.send(Sample(intended=now), self.payload())
            else:
                self._check_drained()
            return
        if self.waiting:
            conn.send(self.waiting.popleft(), self.payload())
        else:
            self.idle.append(conn)
            self._check_drained()

    def lost(self, conn: Conn, sample: Sample | None) -> None:
        self.opened -= 1
        if conn in self.idle:
            self.idle.remove(conn)
        if sample is not None:
            sample.error = sample.error or "connection lost"
            self.outstanding -= 1
            self.done.append(sample)
            self._check_drained()

    async def run(self) -> dict[str, typing.Any]:
        # Enough warm connections that a burst rarely waits for a connect.
        initial = self.s.concurrency or min(64, self.s.max_connections)
        self.idle.extend([await self.connect() for _ in range(initial)])
        start = time.perf_counter() + 0.01
        self.measure_from = start + self.s.warmup_s
        self.stop_at = self.measure_from + self.s.duration_s
        if self.closed_loop:
            await self._closed(start)
        else:
            await self._open(start)
        return await self._drain()

    async def _open(self, start: float) -> None:
        interval = 1.0 / self.s.rate
        i = 0
        marked = False
        while True:
            due = start + i * interval
            if due >= self.stop_at:
                break
            now = time.perf_counter()
            if due > now:
                # Timers tick in whole milliseconds: sleep coarsely, then poll the last stretch.
                await asyncio.sleep(due - now - _POLL_S if due - now > 2 * _POLL_S else 0)
                continue
            if not marked and due >= self.measure_from:
                marked = _mark("MEASURE_START")
            self.dispatch(Sample(intended=due))
            i += 1

    async def _closed(self, start: float) -> None:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        for conn in list(self.idle):
            self.idle.remove(conn)
            self.outstanding += 1
            conn.send(Sample(intended=time.perf_counter()), self.payload())
        await asyncio.sleep(max(0.0, self.measure_from - time.perf_counter()))
        _mark("MEASURE_START")
        await asyncio.sleep(max(0.0, self.stop_at - time.perf_counter()))

    async def _drain(self) -> dict[str, typing.Any]:
        self._check_drained()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drained.wait(), self.s.drain_s)
        _mark("MEASURE_END")
        return summarize(self, self.outstanding)


def _mark(text: str) -> bool:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return True


def summarize(driver: Driver, incomplete: int) -> dict[str, typing.Any]:
    s = driver.s
    kept = [x for x in driver.done if driver.measure_from <= x.intended < driver.stop_at]
    good = [x for x in kept if x.error is None]
    errors = collections.Counter(x.error for x in kept if x.error is not None)
    last = max((x.last_byte for x in good), default=driver.stop_at)
    return {
        "mode": "closed" if driver.closed_loop else "open",
        "offered_per_s": s.rate if not driver.closed_loop else None,
        "concurrency": s.concurrency or None,
        "duration_s": s.duration_s,
        "completed": len(good),
        "achieved_per_s": round(len(good) / max(1e-9, last - driver.measure_from), 1),
        "errors": dict(errors),
        "incomplete": incomplete,
        "connections_opened": driver.opened,
        "latency_ms": percentiles([x.last_byte - x.intended for x in good]),
        "service_ms": percentiles([x.last_byte - x.sent for x in good]),
        "ttfb_ms": percentiles([x.first_byte - x.intended for x in good]),
        "ttlb_ms": percentiles([x.last_byte - x.intended for x in good]),
        "send_lag_ms": percentiles([x.sent - x.intended for x in good]),
    }


def _head(path: str, headers: list[str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", "content-type: application/json"]
    lines += [*headers, f"content-length: {len(body)}"]
    return "\r\n".join(lines).encode()


def parse_args(argv: list[str] | None = None) -> Settings:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/v1/chat/completions")
    p.add_argument("--header", action="append", default=[], help="'name: value', repeatable")
    p.add_argument("--body-file", required=True)
    p.add_argument("--rate", type=float, default=0.0, help="offered requests/s (open loop)")
    p.add_argument("--concurrency", type=int, default=0, help="closed loop with N connections")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--max-connections", type=int, default=256)
    p.add_argument("--drain", type=float, default=5.0, help="wait for answers after the end")
    p.add_argument("--request-ids", action="store_true", help="a fresh x-request-id per request")
    a = p.parse_args(argv)
    if (a.rate > 0) == (a.concurrency > 0):
        p.error("give exactly one of --rate (open loop) or --concurrency (closed loop)")
    with open(a.body_file, "rb") as f:
        body = f.read()
    head = _head(a.path, a.header, body)
    return Settings(
        a.port,
        head,
        body,
        a.request_ids,
        a.rate,
        a.concurrency,
        a.warmup,
        a.duration,
        a.max_connections,
        a.drain,
    )


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    gc.disable()  # no collector pauses in the measured latencies; samples hold no cycles
    result = uvloop.run(Driver(settings).run())
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

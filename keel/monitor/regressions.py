"""Latency and error regressions per logical model, from finished calls (keel.monitor.tap).

Calls are counted in one-minute buckets: requests, server errors (5xx; a client's 4xx and a
client that hung up are not the model's fault) and a log-spaced histogram of latency. Every
check compares the last ``window_s`` with the ``baseline_s`` before it:

- **errors**: the window's error rate is at least ``error_rate`` and at least
  ``error_factor`` times the baseline's (any rate, without a baseline);
- **latency**: the window's p95 is at least ``latency_factor`` times the baseline's and at
  least ``latency_min_ms`` above it.

Both need ``min_requests`` calls in the window (and, for latency, in the baseline). Each
replica judges the traffic it served; the episode store makes one alert of the replicas'
findings. Memory: one bucket per model and minute over ``window_s + baseline_s``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from keel.call import Call
from keel.config.monitors import RegressionConfig
from keel.monitor.findings import Finding, Report

__all__ = ["RegressionMonitor", "p95_ms"]

# Latency bucket edges in ms: 1 ms to ~2 min, 10 per decade.
_EDGES = tuple(10 ** (i / 10) for i in range(0, 52))


@dataclass(slots=True)
class _Minute:
    requests: int = 0
    errors: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * (len(_EDGES) + 1))


def p95_ms(counts: list[int]) -> float | None:
    """The 95th percentile of a latency histogram (its bucket's upper edge), None if empty."""
    total = sum(counts)
    if total == 0:
        return None
    rank = math.ceil(0.95 * total)
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return _EDGES[min(index, len(_EDGES) - 1)]
    return _EDGES[-1]


class RegressionMonitor:
    name = "regressions"

    def __init__(self, config: RegressionConfig, report: Report | None) -> None:
        self.config = config
        self.report = report
        self.minutes: dict[str, dict[int, _Minute]] = {}  # model -> minute -> counts
        self._last_check = 0.0

    def read(self, call: Call) -> None:
        if call.kind != "call" or not call.model:
            return
        minute = int((call.started_at + call.elapsed_s()) // 60)
        buckets = self.minutes.setdefault(call.model, {})
        bucket = buckets.get(minute)
        if bucket is None:
            bucket = buckets[minute] = _Minute()
        bucket.requests += 1
        if call.status >= 500:
            bucket.errors += 1
        ms = call.elapsed_s() * 1000
        bucket.latency[bisect.bisect_left(_EDGES, ms)] += 1

    async def tick(self, now: float) -> None:
        if now - self._last_check < self.config.check_s:
            return
        self._last_check = now
        for model in list(self.minutes):
            findings = self.check(model, now)
            if self.report is not None:
                for finding in findings:
                    await self.report(finding)

    async def close(self) -> None:
        return None

    def check(self, model: str, now: float) -> list[Finding]:
        """This model's error and latency findings at ``now``; forgets buckets too old."""
        cfg = self.config
        buckets = self.minutes[model]
        window_start = int((now - cfg.window_s) // 60)
        baseline_start = int((now - cfg.window_s - cfg.baseline_s) // 60)
        for minute in [m for m in buckets if m < baseline_start]:
            del buckets[minute]
        window = _merge(b for m, b in buckets.items() if m >= window_start)
        baseline = _merge(b for m, b in buckets.items() if m < window_start)
        if not buckets:
            del self.minutes[model]
        if window.requests < cfg.min_requests:
            return []
        return [self._errors(model, window, baseline), self._latency(model, window, baseline)]

    def _errors(self, model: str, window: _Minute, baseline: _Minute) -> Finding:
        cfg = self.config
        rate = window.errors / window.requests
        before = baseline.errors / baseline.requests if baseline.requests else None
        active = rate >= cfg.error_rate and (before is None or rate >= cfg.error_factor * before)
        was = f" (before: {before:.1%})" if before is not None else ""
        message = (
            f"model {model}: {rate:.1%} of {window.requests} calls in the last "
            f"{cfg.window_s / 60:g} min failed upstream or in keel{was}; see "
            "keel_upstream_attempts_total by deployment and the access log's errors"
        )
        details = {"errors": window.errors, "requests": window.requests, "baseline_rate": before}
        return Finding("errors", model, active, message, rate, cfg.error_rate, details)

    def _latency(self, model: str, window: _Minute, baseline: _Minute) -> Finding:
        cfg = self.config
        now_p95 = p95_ms(window.latency) or 0.0
        before = p95_ms(baseline.latency) if baseline.requests >= cfg.min_requests else None
        active = (
            before is not None
            and now_p95 >= cfg.latency_factor * before
            and now_p95 - before >= cfg.latency_min_ms
        )
        was = f"{before:.0f} ms before" if before is not None else "no baseline yet"
        message = (
            f"model {model}: p95 latency {now_p95:.0f} ms over the last "
            f"{cfg.window_s / 60:g} min ({was}); see keel_upstream_duration_seconds by "
            "deployment"
        )
        threshold = cfg.latency_factor * before if before is not None else math.inf
        details = {"p95_ms": now_p95, "baseline_p95_ms": before, "requests": window.requests}
        return Finding("latency", model, active, message, now_p95, threshold, details)


def _merge(buckets: Iterable[_Minute]) -> _Minute:
    merged = _Minute()
    for bucket in buckets:
        merged.requests += bucket.requests
        merged.errors += bucket.errors
        merged.latency = [a + b for a, b in zip(merged.latency, bucket.latency, strict=True)]
    return merged

"""Latency and error regressions from finished calls: the window against its baseline."""

from __future__ import annotations

from keel.call import Call
from keel.config.monitors import RegressionConfig
from keel.monitor.findings import Finding
from keel.monitor.regressions import RegressionMonitor, p95_ms

NOW = 1_800_000_000.0
CONFIG = RegressionConfig(min_requests=20)


def _call(at: float, ms: float, status: int = 200, model: str = "m") -> Call:
    call = Call(id="r", endpoint="chat", body={}, model=model, stream=False)
    call.started_at = at
    call.started = 0.0
    call.finished = ms / 1000
    call.status = status
    return call


def _traffic(monitor: RegressionMonitor, start: float, end: float, ms: float, every_s: float,
             fail_every: int = 0) -> None:  # fmt: skip
    at, n = start, 0
    while at < end:
        n += 1
        failed = fail_every and n % fail_every == 0
        monitor.read(_call(at, ms, 502 if failed else 200))
        at += every_s


def _by_kind(findings: list[Finding]) -> dict[str, Finding]:
    return {f.kind: f for f in findings}


def test_steady_traffic_is_quiet() -> None:
    monitor = RegressionMonitor(CONFIG, None)
    _traffic(monitor, NOW - 3900, NOW, ms=120, every_s=2, fail_every=100)  # 1% errors always
    found = _by_kind(monitor.check("m", NOW))
    assert not found["errors"].active and not found["latency"].active
    assert 100 <= found["latency"].value <= 160


def test_an_error_burst_is_found_and_a_steady_high_rate_is_not_a_regression() -> None:
    monitor = RegressionMonitor(CONFIG, None)
    _traffic(monitor, NOW - 3900, NOW - 300, ms=100, every_s=2)
    _traffic(monitor, NOW - 300, NOW, ms=100, every_s=2, fail_every=5)  # 20% fail now
    errors = _by_kind(monitor.check("m", NOW))["errors"]
    assert errors.active and 0.19 <= errors.value <= 0.21
    assert "20.0% of 150 calls" in errors.message
    chronic = RegressionMonitor(CONFIG, None)
    _traffic(chronic, NOW - 3900, NOW, ms=100, every_s=2, fail_every=10)  # 10% all along
    assert not _by_kind(chronic.check("m", NOW))["errors"].active


def test_a_latency_regression_is_found() -> None:
    monitor = RegressionMonitor(CONFIG, None)
    _traffic(monitor, NOW - 3900, NOW - 300, ms=100, every_s=2)
    _traffic(monitor, NOW - 300, NOW, ms=450, every_s=2)
    latency = _by_kind(monitor.check("m", NOW))["latency"]
    assert latency.active and latency.details["baseline_p95_ms"] < 130


def test_too_few_calls_are_not_judged_and_old_minutes_are_forgotten() -> None:
    monitor = RegressionMonitor(CONFIG, None)
    _traffic(monitor, NOW - 300, NOW, ms=100, every_s=30, fail_every=1)  # 10 calls, all fail
    assert monitor.check("m", NOW) == []
    assert monitor.check("m", NOW + 7200) == []
    assert "m" not in monitor.minutes


def test_p95_of_a_histogram() -> None:
    counts = [0] * 53
    counts[20] = 95  # 100 ms
    counts[30] = 5  # 1 s
    assert p95_ms(counts) == 100.0
    counts[30] = 6
    assert p95_ms(counts) == 1000.0
    assert p95_ms([0] * 53) is None

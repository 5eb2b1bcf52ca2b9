"""The printed table, the targets section, machine facts and versions for the results JSON."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["evaluate_targets", "machine_facts", "render_table", "render_targets", "versions"]

Row = dict[str, Any]
DISTURBED = 0.1  # cores used by programs not ours during a point: its numbers are suspect


def machine_facts() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpu_model": cpu,
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions(wrk: str | None, litellm: str | None) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("keel", "uvicorn", "starlette", "aiohttp", "uvloop", "httptools", "orjson"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    found["litellm"] = litellm
    found["wrk"] = None
    if wrk:
        done = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10)
        found["wrk"] = (done.stdout or done.stderr).splitlines()[0].split(" [")[0]
    return found


def _get(row: Row, *path: str) -> Any:
    value: Any = row
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _pair(a: Any, b: Any, digits: int = 2) -> str:
    return "-" if a is None and b is None else f"{_num(a, digits)} / {_num(b, digits)}"


def added(row: Row, base: Row, point: str, pct: str) -> float | None:
    """Latency of ``row`` minus the mock's at the same point and percentile (ms)."""
    mine, theirs = _get(row, point, "latency_ms", pct), _get(base, point, "latency_ms", pct)
    if mine is None or theirs is None:
        return None
    return float(mine) - float(theirs)


def _ratio(a: Any, b: Any) -> str:
    if a is None or not b:
        return "-"
    return f"{a / b:.1f}x" if a / b >= 1 else f"{a / b:.3f}x"


def ratios(row: Row, litellm: Row | None) -> str:
    if litellm is None or "error" in litellm or row["key"] not in ("keel_min", "keel_full"):
        return "-"
    plain = _ratio(_get(row, "sat", "req_per_s"), _get(litellm, "sat", "req_per_s"))
    stream = _ratio(_get(row, "stream_sat", "req_per_s"), _get(litellm, "stream_sat", "req_per_s"))
    cpu = _ratio(_get(row, "sat", "cpu_ms_per_req"), _get(litellm, "sat", "cpu_ms_per_req"))
    return f"{plain} / {stream}; {cpu}"


HEADER = [
    "target",
    "req/s c50",
    "req/s c1",
    "c1 p50/p90/p99 ms",
    "added c1 p50/p99 ms",
    "open @R p50/p99 ms",
    "added @R p50/p99 ms",
    "CPU-ms/req",
    "RSS MiB",
    "stream req/s",
    "stream CPU-ms/req",
    "TTFB p50/p99 ms",
    "TTLB p50/p99 ms",
    "keel/LiteLLM req/s plain / stream; CPU-ms",
]


def _pcts(row: Row, point: str, metric: str) -> str:
    return _pair(_get(row, point, metric, "p50"), _get(row, point, metric, "p99"), 3)


def _added(row: Row, base: Row, point: str) -> str:
    if row is base:
        return "-"
    return _pair(added(row, base, point, "p50"), added(row, base, point, "p99"), 3)


def _cells(row: Row, base: Row, litellm: Row | None) -> list[str]:
    c1 = [_get(row, "c1", "latency_ms", p) for p in ("p50", "p90", "p99")]
    return [
        _num(_get(row, "sat", "req_per_s"), 0),
        _num(_get(row, "c1", "req_per_s"), 0),
        "-" if c1[0] is None else " / ".join(_num(v, 3) for v in c1),
        _added(row, base, "c1"),
        _pcts(row, "open", "latency_ms"),
        _added(row, base, "open"),
        _num(_get(row, "sat", "cpu_ms_per_req"), 3),
        _num(row.get("rss_mib"), 0),
        _num(_get(row, "stream_sat", "req_per_s"), 0),
        _num(_get(row, "stream_sat", "cpu_ms_per_req"), 3),
        _pcts(row, "stream_c1", "ttfb_ms"),
        _pcts(row, "stream_c1", "ttlb_ms"),
        ratios(row, litellm),
    ]


def render_table(rows: list[Row]) -> str:
    base = next(r for r in rows if r["key"] == "mock")
    litellm = next((r for r in rows if r["key"] == "litellm"), None)
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        if "error" in row:
            cells = [f"not measured: {row['error']}"] + [""] * (len(HEADER) - 2)
        else:
            cells = _cells(row, base, litellm)
        lines.append("| " + " | ".join([row["label"], *cells]) + " |")
    return "\n".join(lines)


def evaluate_targets(rows: list[Row]) -> list[dict[str, Any]]:
    """The issue's targets for one keel worker with the full hot path: value and verdict."""
    by = {r["key"]: r for r in rows}
    full, base, lite = by.get("keel_full", {}), by.get("mock", {}), by.get("litellm")
    ok_lite = lite is not None and "error" not in lite

    def ratio(point: str) -> float | None:
        mine = _get(full, point, "req_per_s")
        theirs = _get(lite, point, "req_per_s") if ok_lite and lite else None
        return mine / theirs if mine and theirs else None

    checks = [
        ("req/s ≥ 20x LiteLLM (non-streaming)", ratio("sat"), 20.0, "min", "x"),
        ("req/s ≥ 20x LiteLLM (streaming)", ratio("stream_sat"), 20.0, "min", "x"),
        ("added latency c1 p50 ≤ 0.5 ms", added(full, base, "c1", "p50"), 0.5, "max", " ms"),
        ("added latency c1 p99 ≤ 1.5 ms", added(full, base, "c1", "p99"), 1.5, "max", " ms"),
        ("CPU ≤ 0.4 ms per request", _get(full, "sat", "cpu_ms_per_req"), 0.4, "max", " ms"),
        ("RSS ≤ 120 MiB", full.get("rss_mib"), 120.0, "max", " MiB"),
    ]
    out = []
    for name, value, limit, kind, unit in checks:
        if value is None:
            verdict = "unknown"
        else:
            verdict = "holds" if (value >= limit if kind == "min" else value <= limit) else "misses"
        out.append({"target": name, "value": value, "unit": unit.strip(), "verdict": verdict})
    return out


def render_targets(checks: list[dict[str, Any]]) -> str:
    lines = ["Targets (one keel worker, full hot path):"]
    for c in checks:
        value = "not measured" if c["value"] is None else f"{c['value']:.3g} {c['unit']}"
        lines.append(f"  - {c['target']}: {value.strip()} → {c['verdict']}")
    return "\n".join(lines)


def notes(rows: list[Row], rate: float | None, pinning: str) -> list[str]:
    """What a reader needs next to the table: setup, the open-loop rate, the mock's headroom."""
    by = {r["key"]: r for r in rows}
    out = [f"- {pinning}.", "- added = target minus mock direct, same point and percentile."]
    if rate:
        out.append(f"- open loop (@R): offered R = {rate:.0f} req/s, half keel minimal's c50.")
    mock_sat = _get(by.get("mock", {}), "sat", "req_per_s")
    keel = by.get("keel_min", {})
    if mock_sat and _get(keel, "sat", "req_per_s"):
        out.append(
            f"- mock headroom: direct {mock_sat:,.0f} req/s sharing core 1 with wrk; during keel "
            f"minimal's c50 run the mock used {_get(keel, 'sat', 'mock_cores')} of a core and "
            f"core 1 was {_pct(_get(keel, 'sat', 'core1_busy'))} busy, core 0 "
            f"{_pct(_get(keel, 'sat', 'core0_busy'))}."
        )
    for row in rows:
        for point, numbers in row.items():
            if not isinstance(numbers, dict):
                continue
            why = numbers.get("skipped") or numbers.get("error")
            if why:
                out.append(f"- {row['label']}, {point}: {why}")
            if numbers.get("other_cores", 0) > DISTURBED:
                out.append(
                    f"- DISTURBED: {row['label']}, {point}: other programs on the machine used "
                    f"{numbers['other_cores']:.2f} cores during it."
                )
    return out


def _pct(share: Any) -> str:
    return "?" if share is None else f"{share * 100:.0f}%"

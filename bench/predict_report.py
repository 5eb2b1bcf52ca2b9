"""The predictive benchmark's table and its summary against the issue's goals.

Goals, reported and not asserted: batching at 64 clients serves >= 5x the predictions per second
of no batching, with a p99 within max_wait_ms + one model run (a full batch's run, in-process
p99); keel serves at least as many predictions per second per core as MLServer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_table", "summary"]

Row = dict[str, Any]
DISTURBED = 0.1  # cores used by other programs during a point: its numbers are suspect
LOAD_BUSY = 0.9  # the load generator's core share above which it may be the bottleneck
C64 = "c64"


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
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def _batching(row: Row) -> str:
    b = row.get("batching")
    return "off" if not b else f"{b[0]} / {b[1]:g} ms"


def _errors(row: Row) -> str:
    counts = [sum((_get(row, p, "errors") or {}).values()) for p in (C64, "c1")]
    failed = [p for p in (C64, "c1") if _get(row, p, "error")]
    return f"{counts[0]}/{counts[1]}" + (f" ({', '.join(failed)} failed)" if failed else "")


HEADER = (
    "| server | model | batching (rows / wait) | pred/s c64 | c64 p50 ms | c64 p99 ms "
    "| CPU-ms/pred c64 | mean batch | c1 p50 ms | c1 p99 ms | errors c64/c1 | RSS MiB |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _line(row: Row) -> str:
    if row.get("error"):
        return f"| {row['label']} | {row.get('model', '-')} | {row['error'][:160]} |"
    cells = [
        row["label"],
        row["model"],
        _batching(row),
        _num(_get(row, C64, "achieved_per_s"), 0),
        _num(_get(row, C64, "latency_ms", "p50")),
        _num(_get(row, C64, "latency_ms", "p99")),
        _num(_get(row, C64, "cpu_ms_per_req"), 3),
        _num(_get(row, C64, "mean_batch_rows"), 1),
        _num(_get(row, "c1", "latency_ms", "p50"), 3),
        _num(_get(row, "c1", "latency_ms", "p99"), 3),
        _errors(row),
        _num(row.get("rss_mib"), 0),
    ]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render_table(rows: list[Row], inproc: Row) -> str:
    lines = [HEADER, *(_line(r) for r in rows)]
    single = _get(inproc, "single", "latency_ms")
    if single:
        lines.append(
            f"| onnxruntime session.run, in-process | 1 row | - | - | - | - | - | - "
            f"| {single['p50']:.3f} | {single['p99']:.3f} | - | - |"
        )
    return "\n".join(lines)


def _find(rows: list[Row], server: str, model: str) -> Row:
    for row in rows:
        if row.get("server") == server and row.get("model") == model and not row.get("error"):
            return row
    return {}


def _rate(row: Row) -> float | None:
    value = _get(row, C64, "achieved_per_s")
    return float(value) if value else None


def _batching_lines(rows: list[Row], inproc: Row) -> list[str]:
    lines = []
    base = _rate(_find(rows, "keel", "clf"))
    run_p99 = _get(inproc, "batch", "latency_ms", "p99")
    for model in ("clf_b2", "clf_b5"):
        row = _find(rows, "keel", model)
        rate, p99 = _rate(row), _get(row, C64, "latency_ms", "p99")
        if not (rate and base and p99 is not None and row.get("batching")):
            lines.append(f"- keel {model}: not measured")
            continue
        wait = row["batching"][1]
        bound = wait + (run_p99 or 0.0)
        ratio = rate / base
        lines.append(
            f"- keel batching {_batching(row)}: {ratio:.1f}x the predictions/s of no batching "
            f"(goal >= 5x: {'met' if ratio >= 5 else 'NOT met'}); c64 p99 {p99:.2f} ms vs "
            f"max_wait_ms + one run of {row['batching'][0]} rows = {bound:.2f} ms "
            f"({'within' if p99 <= bound else 'ABOVE'})"
        )
    return lines


def _latency_lines(rows: list[Row], inproc: Row) -> list[str]:
    single = _get(inproc, "single", "latency_ms") or {}
    keel = _get(_find(rows, "keel", "clf"), "c1", "latency_ms") or {}
    bare = _get(_find(rows, "ort_http", "clf"), "c1", "latency_ms") or {}
    lines = []
    for q in ("p50", "p99"):
        if q in keel and q in single:
            parts = [f"keel {keel[q]:.3f} ms - in-process {single[q]:.3f} ms = "
                     f"{keel[q] - single[q]:.3f} ms added"]  # fmt: skip
            if q in bare:
                parts.append(
                    f"of which HTTP + JSON (bare onnxruntime server) {bare[q] - single[q]:.3f} ms"
                    f" and keel's own work {keel[q] - bare[q]:.3f} ms"
                )
            lines.append(f"- c1 {q}: " + "; ".join(parts))
    return lines or ["- c1 added latency: not measured"]


def _mlserver_lines(rows: list[Row]) -> list[str]:
    lines = []
    for label, models in (("no batching", ("clf",)), ("best of all", ("clf", "clf_b2", "clf_b5"))):
        keel = max((_rate(_find(rows, "keel", m)) or 0 for m in models), default=0)
        ml = max(
            (_rate(_find(rows, s, m)) or 0 for s in ("mlserver_w0", "mlserver_w1") for m in models),
            default=0,
        )
        if keel and ml:
            verdict = "met" if keel >= ml else "NOT met"
            lines.append(
                f"- keel vs MLServer per core, {label}: {keel:.0f} vs {ml:.0f} pred/s = "
                f"{keel / ml:.1f}x (goal >= 1x: {verdict})"
            )
    return lines or ["- keel vs MLServer: not measured"]


def _flags(rows: list[Row]) -> list[str]:
    lines = []
    for row in rows:
        for p in (C64, "c1"):
            other, load = _get(row, p, "other_cores"), _get(row, p, "load_cores")
            where = f"{row.get('label')} {row.get('model')} {p}"
            if other is not None and other > DISTURBED:
                lines.append(f"- DISTURBED: {where}: other programs used {other:.2f} cores")
            if load is not None and load > LOAD_BUSY:
                lines.append(f"- LOAD-BOUND?: {where}: the load generator used {load:.2f} cores")
    return lines


def summary(rows: list[Row], inproc: Row) -> list[str]:
    single = _get(inproc, "single", "latency_ms") or {}
    batch = _get(inproc, "batch", "latency_ms") or {}
    lines = ["Goals (reported, not asserted):"]
    if single and batch:
        lines.append(
            f"- onnxruntime in-process: 1 row p50 {single['p50']:.3f} / p99 {single['p99']:.3f} "
            f"ms; {inproc['batch']['rows']} rows p50 {batch['p50']:.3f} / p99 {batch['p99']:.3f} ms"
        )
    lines += _batching_lines(rows, inproc) + _latency_lines(rows, inproc) + _mlserver_lines(rows)
    return lines + _flags(rows)

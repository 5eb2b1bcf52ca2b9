"""keel's tabular drift beside Evidently's default DataDriftPreset, on the same windows:
python bench/drift_compare.py [--null 400] [--shift 200] [--ev-null 200] [--ev-shift 50]

Windows come from bench/drift_data.py (seeded; 30 independent columns of many shapes)
against a 5,000-row reference (and, for keel, also a 1,000-row one: the false-alarm rate
must not depend on the reference's size). A two-sample test's error rate is over draws of
both samples: with one fixed reference, an unlucky reference would alarm on most windows
and a lucky one on none, so the windows rotate over ``--references`` seeded references
(window w uses reference w mod R). Each window is written as a CSV file; keel reads
it in this process through the same path as ``keel drift detect`` (keel.commands.drift,
the parsed reference cached), timed per window; Evidently (bench/.evidently-venv, made by
bench/evidently_setup.sh) runs as a child process, this file with ``--worker``, reading
``{"reference", "current"}`` paths per stdin line and answering each column's drift flag
and its own time, so the two never share a venv and each is timed on its own work.

Per cell: the share of windows with any column flagged (for no drift, the false-alarm
rate), the share where the shifted column(s) were flagged, with Wilson 95% intervals.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
VENV_PYTHON = HERE / ".evidently-venv" / "bin" / "python"


# ---- the worker: runs under bench/.evidently-venv's python ----


def worker() -> None:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    references: dict[str, Any] = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request["reference"] not in references:
            references[request["reference"]] = pd.read_csv(request["reference"])
        reference = references[request["reference"]]
        current = pd.read_csv(request["current"])
        start = time.perf_counter()
        snapshot = Report([DataDriftPreset()]).run(current, reference)
        spent = time.perf_counter() - start
        flags = {}
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if config.get("type", "").endswith("ValueDrift"):
                method = metric["metric_name"]
                value, threshold = metric["value"], config["threshold"]
                # p-value tests drift below the threshold, distances at or above it.
                flags[config["column"]] = bool(
                    value < threshold if "p_value" in method else value >= threshold
                )
        names = [m["metric_name"] for m in snapshot.dict()["metrics"]]
        methods = sorted({n.split("method=")[1].split(",")[0] for n in names if "method=" in n})
        print(json.dumps({"flags": flags, "seconds": spent, "methods": methods}), flush=True)


# ---- the driver: keel's venv ----

CELLS: list[tuple[str, str, float, int]] = [  # name, kind, size, columns shifted
    ("no drift", "none", 0.0, 0),
    ("location 0.05 SD, 3 columns", "location", 0.05, 3),
    ("location 0.1 SD", "location", 0.1, 1),
    ("location 0.2 SD", "location", 0.2, 1),
    ("scale x1.2", "scale", 1.2, 1),
    ("ramp 0 to 0.2 SD", "ramp", 0.2, 1),
    ("mix: largest level -5 pp", "mix", 0.05, 1),
    ("mix: largest level -10 pp", "mix", 0.10, 1),
]


def _wilson(hits: int, n: int) -> list[float]:
    if n == 0:
        return [0.0, 1.0]
    z = 1.96
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def _rate(hits: int, n: int) -> dict[str, Any]:
    return {"rate": round(hits / n, 4) if n else None, "n": n, "ci95": _wilson(hits, n)}


def _shifted(kind: str, size: float, count: int, window: int) -> Any:
    from bench.drift_data import CATEGORICAL, NUMERIC, Shift

    if kind == "none":
        return None
    pool = CATEGORICAL if kind == "mix" else NUMERIC
    # Rotate over the columns so every shape is shifted in turn.
    chosen = tuple(pool[(window * count + i) % len(pool)] for i in range(count))
    return Shift(kind, size, chosen)


class Evidently:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(VENV_PYTHON), __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )

    def send(self, reference: str, current: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"reference": reference, "current": current}) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _cell(
    args: argparse.Namespace, tmp: Path, refs: dict[str, str], cell: tuple[str, str, float, int],
    rows: int, evidently: Evidently | None, seed: int,
) -> dict[str, Any]:  # fmt: skip
    from bench.drift_data import columns, write_csv
    from keel.commands.drift import compare_files

    name, kind, size, count = cell
    windows = args.null if kind == "none" else args.shift
    ev_windows = (args.ev_null if kind == "none" else args.ev_shift) if evidently else 0
    if kind != "none" and (
        rows not in args.ev_shift_sizes or (args.ev_cells and name not in args.ev_cells)
    ):
        ev_windows = 0
    tally = {"keel_any": 0, "keel_hit": 0, "ev_any": 0, "ev_hit": 0, "ev_dataset": 0}
    small_any = 0
    keel_ms: list[float] = []
    ev_ms: list[float] = []
    ev_methods: set[str] = set()
    keel_cpu: list[float] = []
    sent: list[tuple[str, set[str]]] = []
    for w in range(windows):
        shift = _shifted(kind, size, count, w)
        path = str(tmp / f"window-{w}.csv")
        write_csv(path, columns(rows, seed + w, shift))
        target = set(shift.columns) if shift else set()
        ref = refs[f"5000-{w % args.references}"]
        if w < ev_windows and evidently is not None:
            evidently.send(ref, path)  # Evidently works on it while keel does
            sent.append((path, target))
        start, cpu = time.perf_counter(), time.process_time()
        report = compare_files(Path(ref), Path(path))
        keel_ms.append((time.perf_counter() - start) * 1e3)
        keel_cpu.append((time.process_time() - cpu) * 1e3)
        flagged = {c for c, r in report["columns"].items() if r["drift"]}
        tally["keel_any"] += bool(flagged)
        tally["keel_hit"] += bool(target) and target <= flagged
        if kind == "none" and w < args.small_ref_windows:
            small = compare_files(Path(refs[f"1000-{w % args.references}"]), Path(path))
            small_any += small["dataset_drift"]
        if not (w < ev_windows and evidently is not None):
            os.unlink(path)
    for path, target in sent:
        answer = evidently.receive() if evidently is not None else {}
        os.unlink(path)
        ev_flagged = {c for c, f in answer["flags"].items() if f}
        tally["ev_any"] += bool(ev_flagged)
        tally["ev_hit"] += bool(target) and target <= ev_flagged
        tally["ev_dataset"] += len(ev_flagged) >= 0.5 * len(answer["flags"])
        ev_ms.append(answer["seconds"] * 1e3)
        ev_methods.update(answer["methods"])
    keel_ms.sort()
    out: dict[str, Any] = {
        "cell": name,
        "rows": rows,
        "keel": {
            "any_flagged": _rate(tally["keel_any"], windows),
            "shifted_flagged": _rate(tally["keel_hit"], windows) if kind != "none" else None,
            "ms_median": round(keel_ms[len(keel_ms) // 2], 2),
            "ms_p90": round(keel_ms[int(len(keel_ms) * 0.9)], 2),
            "cpu_ms_median": round(sorted(keel_cpu)[len(keel_cpu) // 2], 2),
        },
    }
    if kind == "none" and args.small_ref_windows:
        tested = min(windows, args.small_ref_windows)
        out["keel_reference_1000"] = {"any_flagged": _rate(small_any, tested)}
    if ev_windows:
        ev_ms.sort()
        out["evidently"] = {
            "any_flagged": _rate(tally["ev_any"], ev_windows),
            "shifted_flagged": _rate(tally["ev_hit"], ev_windows) if kind != "none" else None,
            "dataset_drift": _rate(tally["ev_dataset"], ev_windows),
            "ms_median": round(ev_ms[len(ev_ms) // 2], 1),
            "methods": sorted(ev_methods),
        }
    return out


def _start_time(refs: dict[str, str], tmp: Path) -> dict[str, float]:
    """``keel drift detect`` one-shot, wall clock, a fresh process each time."""
    from bench.drift_data import columns, write_csv

    path = str(tmp / "start.csv")
    write_csv(path, columns(5000, 99))
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    command = [sys.executable, "-m", "keel", "drift", "detect", "--reference", refs["5000-0"],
               "--current", path]  # fmt: skip
    times = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env, timeout=120)
        times.append(time.perf_counter() - start)
    times.sort()
    return {"min_s": round(times[0], 3), "median_s": round(times[3], 3)}


def _warm_timing(windows: int) -> dict[str, Any]:
    """Per window once warm: one reference (parsed once, cached), windows of 5,000 rows
    read from CSV and compared, the ``keel drift detect --serve`` path in this process."""
    from bench.drift_data import columns, write_csv
    from keel.commands.drift import compare_files

    wall: list[float] = []
    cpu: list[float] = []
    with tempfile.TemporaryDirectory(prefix="keel-drift-timing-") as name:
        ref, path = Path(name) / "reference.csv", Path(name) / "window.csv"
        write_csv(str(ref), columns(5000, 1))
        write_csv(str(path), columns(5000, 2))
        compare_files(ref, path)
        for w in range(windows):
            write_csv(str(path), columns(5000, 100 + w))
            start, used = time.perf_counter(), time.process_time()
            compare_files(ref, path)
            wall.append((time.perf_counter() - start) * 1e3)
            cpu.append((time.process_time() - used) * 1e3)
    wall.sort()
    cpu.sort()
    return {
        "windows": windows,
        "rows": 5000,
        "columns": 30,
        "wall_ms_min": round(wall[0], 2),
        "wall_ms_median": round(wall[windows // 2], 2),
        "cpu_ms_min": round(cpu[0], 2),
        "cpu_ms_median": round(cpu[windows // 2], 2),
        "load_average": os.getloadavg(),
    }


def _pct(rate: dict[str, Any] | None) -> str:
    if not rate or rate.get("rate") is None:
        return "-"
    low, high = rate["ci95"]
    return f"{100 * rate['rate']:.1f}% ({100 * low:.0f}-{100 * high:.0f}) n={rate['n']}"


def table(body: dict[str, Any]) -> str:
    """The results as the Markdown table of docs/monitoring.md."""
    lines = [
        "| window rows | cell | keel: any column flagged | keel: shifted column(s) flagged "
        "| Evidently: any column flagged | Evidently: shifted column(s) flagged |",
        "|---|---|---|---|---|---|",
    ]
    for cell in body["cells"]:
        ev = cell.get("evidently") or {}
        lines.append(
            f"| {cell['rows']} | {cell['cell']} | {_pct(cell['keel']['any_flagged'])} "
            f"| {_pct(cell['keel']['shifted_flagged'])} | {_pct(ev.get('any_flagged'))} "
            f"| {_pct(ev.get('shifted_flagged'))} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--null", type=int, default=400, help="keel's no-drift windows per size")
    parser.add_argument("--shift", type=int, default=200, help="keel's windows per shift cell")
    parser.add_argument("--ev-null", type=int, default=200, help="Evidently's no-drift windows")
    parser.add_argument("--ev-shift", type=int, default=50, help="Evidently's windows per shift")
    parser.add_argument("--small-ref-windows", type=int, default=200)
    parser.add_argument("--references", type=int, default=20, help="references rotated over")
    parser.add_argument("--sizes", default="500,5000")
    parser.add_argument("--ev-shift-sizes", default="500,5000", help="sizes of Evidently's shifts")
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument("--cells", default="", help="only these cells (;-separated names)")
    parser.add_argument("--table", action="store_true", help="print --out as a Markdown table")
    parser.add_argument(
        "--timing", type=int, default=0, help="only time N warm windows; add them to --out"
    )
    parser.add_argument("--ev-cells", default="", help="shift cells Evidently runs (;-separated)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / f"{date.today()}-drift.json")
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    if args.table:
        print(table(json.loads(args.out.read_text())))
        return
    from bench.drift_data import columns, write_csv

    if args.timing:
        body = json.loads(args.out.read_text()) if args.out.exists() else {}
        body["warm_timing"] = _warm_timing(args.timing)
        with tempfile.TemporaryDirectory(prefix="keel-drift-start-") as name:
            refs = {"5000-0": str(Path(name) / "reference.csv")}
            write_csv(refs["5000-0"], columns(5000, 1))
            body["keel_start"] = _start_time(refs, Path(name)) | {"load_average": os.getloadavg()}
        args.out.write_text(json.dumps(body, indent=2) + "\n")
        print(json.dumps(body["warm_timing"]))
        return
    args.ev_shift_sizes = {int(s) for s in args.ev_shift_sizes.split(",")}
    args.ev_cells = {c for c in args.ev_cells.split(";") if c}

    evidently = None if args.no_evidently or not VENV_PYTHON.exists() else Evidently()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="keel-drift-") as name:
        tmp = Path(name)
        refs = {}
        for r in range(args.references):
            for n in (5000, 1000):
                refs[f"{n}-{r}"] = str(tmp / f"reference-{n}-{r}.csv")
                write_csv(refs[f"{n}-{r}"], columns(n, 7 * r + n))
        started = _start_time(refs, tmp)
        for rows in (int(s) for s in args.sizes.split(",")):
            for i, cell in enumerate(CELLS):
                if args.cells and cell[0] not in args.cells.split(";"):
                    continue
                seed = 1_000_000 * (i + 1) + 10_000 * rows
                found = _cell(args, tmp, refs, cell, rows, evidently, seed)
                results.append(found)
                print(json.dumps(found), flush=True)
    if evidently is not None:
        evidently.close()
    body = {
        "date": str(date.today()),
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "reference_rows": 5000,
        "references": args.references,
        "columns": 30,
        "keel_start": started,
        "cells": results,
    }
    args.out.write_text(json.dumps(body, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

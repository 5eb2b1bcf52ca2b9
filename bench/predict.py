"""keel's predictive benchmark: a small tabular model on the Open Inference Protocol v2.

    python bench/predict.py [--quick] [--model lr|mlp] [--label L] [--skip-mlserver]
                            [--keep-workdir]

Fits a logistic regression on the breast-cancer data (bench/predict_model.py), then, one after
the other, each server pinned to core 0 with the load generator (bench/loadgen.py, closed loop)
on core 1: keel with governance on (API key, usage and audit records, access log) without and
with adaptive batching, a bare onnxruntime HTTP server, and MLServer 1.7 (scikit-learn runtime,
the same fitted model) without and with its adaptive batching. Every point: predictions per
second and latency at 64 clients and at 1. Also onnxruntime's session.run in-process at
concurrency 1. Prints a table and writes bench/results/<date>-predict[-quick].json.
Loopback only; every process it starts is stopped by PID.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import predict_model
import predict_report
import predict_targets as pt
import procs
import report
from measure import Bench, loadgen_point
from wrkrun import Request

RESULTS = Path(__file__).resolve().parent / "results"
Row = dict[str, Any]
CLIENTS = 64


@dataclasses.dataclass
class Plan:
    quick: bool
    warmup_s: float
    point_s: float
    inproc_runs: int


def make_plan(quick: bool) -> Plan:
    if quick:
        return Plan(quick=True, warmup_s=1, point_s=3, inproc_runs=5000)
    return Plan(quick=False, warmup_s=3, point_s=10, inproc_runs=20000)


def inproc(pin: procs.Pinning, onnx: Path, runs: int) -> Row:
    """session.run timed in its own process on the servers' core."""
    argv = [*pin.gateway, sys.executable, str(Path(__file__).with_name("predict_model.py"))]
    argv += ["--onnx", str(onnx), "--runs", str(runs)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr[-400:]}"}
    result: Row = json.loads(done.stdout)
    return result


def expected_label(onnx: Path, row: list[float]) -> int:
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    label = session.run(["label"], {"X": np.asarray([row], dtype=np.float32)})[0]
    return int(label.ravel()[0])


def answered_label(answer: bytes) -> int | None:
    """The predicted class in a v2 answer: keel's ``label`` or MLServer's ``predict``."""
    for output in json.loads(answer).get("outputs", []):
        if output["name"] in ("label", "predict"):
            return int(output["data"][0])
    return None


def batch_counts(server: pt.Server, model: str) -> tuple[float, float] | None:
    """keel's keel_batch_size histogram for a model: (rows, runs) so far."""
    if server.key != "keel":
        return None
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", "/metrics", headers=server.headers)
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    found = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for part in found:
            if line.startswith(f'keel_batch_size_{part}{{model="{model}"}}'):
                found[part] = float(line.split()[-1])
    return found["sum"], found["count"]


def point(b: Bench, root: int, server: pt.Server, model: str, clients: int) -> Row:
    request = Request(server.port, server.paths[model], server.headers, server.body)
    before = batch_counts(server, model)
    # No mock here: its slot in the CPU window is the server itself, counted once.
    b = dataclasses.replace(b, mock_pid=root)
    numbers = loadgen_point(b, root, request, ["--concurrency", str(clients)])
    after = batch_counts(server, model)
    if before is not None and after is not None and after[1] > before[1]:
        numbers["mean_batch_rows"] = round((after[0] - before[0]) / (after[1] - before[1]), 2)
    return numbers


def measure_server(b: Bench, pin: procs.Pinning, server: pt.Server, label: int) -> list[Row]:
    print(f"{server.label}: starting", flush=True)
    argv = [*pin.gateway, *server.argv]
    proc = procs.start(server.key, argv, b.workdir, server.env, b.workdir / f"{server.key}.out")
    try:
        first = next(iter(server.paths.values()))
        why = procs.wait_until_answers(proc, server.port, first, server.body, server.headers,
                                       server.start_timeout_s)  # fmt: skip
        if why:
            return [{"server": server.key, "label": server.label, "error": why}]
        return [_model_row(b, proc.pid, server, m, label) for m in server.paths]
    finally:
        procs.stop(proc)


def _model_row(b: Bench, root: int, server: pt.Server, model: str, label: int) -> Row:
    status, answer = procs.post(server.port, server.paths[model], server.body, server.headers, 60)
    row: Row = {"server": server.key, "label": server.label, "model": model,
                "batching": pt.BATCHING.get(model)}  # fmt: skip
    if status != 200 or answered_label(answer) != label:
        row["error"] = f"wrong answer: HTTP {status} {answer[:300]!r} (expected label {label})"
        return row
    for name, clients in ((f"c{CLIENTS}", CLIENTS), ("c1", 1)):
        print(f"  {server.key} {model}: {name}", flush=True)
        try:
            row[name] = point(b, root, server, model, clients)
        except Exception as exc:  # one failed point must not lose the rest of the run
            row[name] = {"error": f"{type(exc).__name__}: {exc}"}
        if row[name].get("errors") or row[name].get("error"):
            print(f"  !! {server.key} {model} {name}: {row[name]}", flush=True)
    row["rss_mib"] = round(procs.rss_mib(root), 1)
    return row


def servers(b: Bench, paths: dict[str, Path], row: list[float], mlserver: bool) -> list[pt.Server]:
    body = predict_model.infer_body(row, "X")
    found = [
        pt.keel_server(procs.free_port(), b.workdir / "keel", paths["onnx"], body),
        pt.ort_server(procs.free_port(), paths["onnx"], body),
    ]
    if mlserver:
        ml_body = predict_model.infer_body(row, "X", ["predict", "predict_proba"])
        for workers in (0, 1):
            port = procs.free_port()
            found.append(pt.mlserver_server(port, b.workdir, paths["joblib"], ml_body, workers))
    return found


def run(args: argparse.Namespace, plan: Plan, pin: procs.Pinning, workdir: Path) -> Row:
    paths = predict_model.export(workdir / "model", args.model)
    row = predict_model.first_row()
    label = expected_label(paths["onnx"], row)
    print("onnxruntime in-process: timing session.run", flush=True)
    result: Row = {"inproc": inproc(pin, paths["onnx"], plan.inproc_runs), "rows": []}
    mlserver_ok = not args.skip_mlserver
    if mlserver_ok:
        print("MLServer: installing into bench/.mlserver-venv if needed", flush=True)
        why = pt.install_mlserver(workdir)
        result["mlserver_error"] = why
        mlserver_ok = why is None
    b = Bench("", pin.gateway, pin.load, workdir, plan.warmup_s, plan.point_s,
              plan.warmup_s, 0, 0)  # fmt: skip
    for server in servers(b, paths, row, mlserver_ok):
        result.setdefault("configs", {})[server.key] = server.config_text
        result["rows"] += measure_server(b, pin, server, label)
    result["mlserver_version"] = pt.mlserver_version() if mlserver_ok else None
    return result


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short points (about 2 minutes)")
    p.add_argument("--label", help="results file label (default: predict or predict-quick)")
    p.add_argument("--skip-mlserver", action="store_true", help="no MLServer rows")
    p.add_argument("--keep-workdir", action="store_true", help="keep configs, models and logs")
    p.add_argument("--model", choices=sorted(predict_model.MODELS), default="lr",
                   help="lr: a logistic regression (runs of microseconds); mlp: a wider "
                   "network whose runs batching amortises")  # fmt: skip
    return p.parse_args()


def _on_signal(signum: int, _: object) -> None:
    raise SystemExit(f"bench: stopped by signal {signum}")


def main() -> None:
    args = parse_args()
    began = time.monotonic()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    pin = procs.pinning()
    if pin.pinned:
        os.sched_setaffinity(0, {1})  # this script's own work stays off the servers' core
    print(f"bench: {pin.note}", flush=True)
    plan = make_plan(args.quick)
    workdir = Path(tempfile.mkdtemp(prefix="keel-bench-predict-"))
    try:
        result = run(args, plan, pin, workdir)
    finally:
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"workdir kept: {workdir}")
    finish(args, plan, pin, result, time.monotonic() - began)


def finish(args: argparse.Namespace, plan: Plan, pin: procs.Pinning, result: Row,
           elapsed: float) -> None:  # fmt: skip
    label = args.label or ("predict-quick" if plan.quick else "predict") + (
        "" if args.model == "lr" else f"-{args.model}"
    )
    table = predict_report.render_table(result["rows"], result["inproc"])
    summary = predict_report.summary(result["rows"], result["inproc"])
    print("\n" + table + "\n\n" + "\n".join(summary))
    versions = report.versions(None, None)
    versions.update(mlserver=result.pop("mlserver_version"), onnxruntime=ort.__version__)
    out = {
        "label": label,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if plan.quick else "full",
        "plan": dataclasses.asdict(plan),
        "pinning": pin.note,
        "model": predict_model.model_note(args.model),
        "clients": CLIENTS,
        "machine": report.machine_facts(),
        "versions": versions,
        **result,
        "table_markdown": table,
        "summary": summary,
        "elapsed_s": round(elapsed, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.date.today().isoformat()}-{label}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nresults: {path}\nbench took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
